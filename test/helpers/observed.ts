/** What a reconcile pass observed, for the planner's tables: nothing but the cluster, unless told. */
import type { EtcdCluster } from '../../lib/api/index.js';
import type { Observed } from '../../lib/cluster/observed.js';

export function observedCluster(cluster: EtcdCluster, now: Date, parts: Partial<Observed> = {}): Observed {
  return {
    cluster,
    now,
    pods: new Map(),
    claims: new Map(),
    reservedMembers: new Set(),
    secrets: new Map(),
    ...parts,
  };
}
