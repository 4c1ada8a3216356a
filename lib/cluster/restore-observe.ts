/**
 * Observe, for a cluster created from a backup: the snapshot its initial members restore. Pinned
 * in status once checked (and remembered here until the cache shows that status); otherwise
 * found and streamed once against its manifest (lib/backup), when the restore planner says a look
 * is needed.
 */
import type { EtcdCluster, RestoredFrom } from '../api/index.js';
import { checkRestoreSource } from '../backup/restore-source.js';
import type { ClaimDirectory } from '../backup/stores.js';
import type { KubeReader } from '../kube/client.js';
import type { RestoreView } from './observed.js';
import { recordedRestore, restoreCheckNeeded } from './restore.js';

export interface RestoreObserveDeps {
  /** Reads the EtcdBackup and the credentials Secrets. */
  kube: KubeReader;
  claimDir?: ClaimDirectory;
  /** Snapshots pinned by this process, by cluster uid: a status write the cache has not shown yet. */
  pins: Map<string, RestoredFrom>;
  now: () => Date;
  signal?: AbortSignal;
}

export async function observeRestore(
  cluster: EtcdCluster,
  deps: RestoreObserveDeps,
): Promise<RestoreView | undefined> {
  const restore = cluster.spec.bootstrap?.restore;
  if (!restore) return undefined;
  const uid = cluster.metadata.uid ?? '';
  const recorded = recordedRestore(cluster);
  if (recorded) {
    // The cache shows the status: it remembers the pin from now on.
    deps.pins.delete(uid);
    return { pinned: recorded };
  }
  const remembered = deps.pins.get(uid);
  if (remembered) return { pinned: remembered };
  if (!restoreCheckNeeded(cluster, false)) return {};
  const check = await checkRestoreSource(restore, {
    kube: deps.kube,
    namespace: cluster.metadata.namespace ?? 'default',
    clusterVersion: cluster.spec.version,
    now: deps.now,
    ...(deps.claimDir ? { claimDir: deps.claimDir } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (!check.ok) {
    const { ok: _, ...failure } = check;
    return { failure };
  }
  deps.pins.set(uid, check.restoredFrom);
  return { pinned: check.restoredFrom };
}
