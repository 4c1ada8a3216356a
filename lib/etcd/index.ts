/**
 * lib/etcd: access to etcd clusters — the EtcdAdmin port over etcd3, the snapshot pipeline, and
 * the pure helpers controllers decide with (member IDs as hex, quorum arithmetic).
 */
export {
  createEtcdAdmin,
  type EtcdAdmin,
  type EtcdAdminOptions,
  type EtcdEndpoint,
  type EtcdTlsOptions,
  type Member,
  type MemberList,
  type MemberAddResult,
  type EndpointStatus,
  type EndpointStatusResult,
  type EndpointHealth,
  type Alarm,
  type AlarmType,
  type HashKV,
  type SnapshotChunk,
  type SnapshotStreamOptions,
} from './admin.js';
export {
  saveSnapshot,
  streamSnapshot,
  inspectSnapshot,
  SnapshotDigest,
  type SnapshotStream,
  type SaveSnapshotOptions,
  type SavedSnapshot,
  type SnapshotProgress,
  type SnapshotFileInfo,
} from './snapshot.js';
export { formatMemberId, parseMemberId, isMemberId, memberIdToDecimal, resolveMember } from './member-id.js';
export {
  quorum,
  faultTolerance,
  hasQuorum,
  canRemoveWithoutLosingQuorum,
  canAddVoterWithoutLosingQuorum,
  type VotingInfo,
} from './quorum.js';
export { toEtcdError } from './etcd-errors.js';
export { startLocalEtcd, freePort, type LocalEtcd, type LocalEtcdOptions } from './local-etcd.js';
