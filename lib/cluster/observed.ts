/**
 * What one reconcile pass knows about a cluster: the objects it owns (from the informer caches) and
 * what etcd itself says. observe.ts fills it; plan.ts and status.ts only read it.
 */
import type { PersistentVolumeClaim, Pod, Secret } from '../kube/resources.js';
import type { EtcdCluster, RestoredFrom } from '../api/index.js';
import type { RestoreSourceFailure } from '../backup/restore-source.js';

/** One etcd member as the member list reports it; IDs are 16 hex digits. */
export interface EtcdMember {
  id: string;
  /** Empty for a learner that has not started yet. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** One member's answer to a status request; `healthy: false` when it did not answer. */
export interface MemberHealth {
  healthy: boolean;
  version?: string;
  isLeader?: boolean;
  error?: string;
}

export interface EtcdView {
  clusterID: string;
  members: EtcdMember[];
  leaderID?: string;
  /** By member ID. */
  health: Record<string, MemberHealth>;
}

export interface Observed {
  cluster: EtcdCluster;
  now: Date;
  /** Member pods by name (pod name = member name). */
  pods: Map<string, Pod>;
  /** Member claims by member name. */
  claims: Map<string, PersistentVolumeClaim>;
  /**
   * Members whose claims carry this cluster's name but not its ownership: released under Retain, or
   * left by an earlier cluster of the same name. Their names are never given to a new member.
   */
  reservedMembers: Set<string>;
  /** Which of the cluster's Secrets exist, by name. */
  secrets: Map<string, Secret>;
  /** undefined when no member answered a member list. */
  etcd?: EtcdView;
  /** For a cluster created from a backup, before its first bootstrap: what is known of the snapshot. */
  restore?: RestoreView;
}

export interface RestoreView {
  /** The snapshot every initial member restores, checked against its manifest (this pass or earlier). */
  pinned?: RestoredFrom;
  /** Why this pass found the snapshot unfit or out of reach. */
  failure?: RestoreSourceFailure;
}
