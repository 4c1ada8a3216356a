/**
 * lib/cluster: the EtcdCluster controller — observe (I/O) → plan (pure) → execute (I/O) — with the
 * naming, resource builders and status computation it is made of.
 */
export {
  createEtcdClusterController,
  FIELD_MANAGER,
  type EtcdClusterControllerOptions,
} from './controller.js';
export {
  observe,
  etcdAccess,
  memberEndpoints,
  readSecrets,
  type EtcdAccess,
  type EtcdConnector,
  type ObserveDeps,
  type Observation,
} from './observe.js';
export {
  plan,
  REQUEUE,
  type Plan,
  type PlanConfig,
  type ResourceChange,
  type MembershipChange,
  type CertificateWork,
  type Situation,
} from './plan.js';
export { execute, type ExecuteDeps } from './execute.js';
export { computeStatus } from './status.js';
export { EtcdConnections } from './connections.js';
export type { Observed, EtcdView, EtcdMember, MemberHealth, RestoreView } from './observed.js';
export * from './naming.js';
export {
  memberPod,
  memberClaim,
  peerService,
  clientService,
  podDisruptionBudget,
  etcdArgs,
  initialClusterFlag,
  ownerReference,
  clusterToken,
  DEFAULT_AGENT_IMAGE,
  type MemberStart,
  type MemberRestore,
} from './resources.js';
export {
  RESTORED_CONDITION,
  planRestoreStart,
  planRestoreDone,
  recordedRestore,
  restoreCheckNeeded,
  restoreRetryAfterMs,
  type RestorePlan,
  type RestoreEvent,
} from './restore.js';
export { observeRestore, type RestoreObserveDeps } from './restore-observe.js';
