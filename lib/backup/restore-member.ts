/**
 * The restore agent's work, run in an initial member's init container (`etcd-operator
 * restore-member`): make the member's data directory from the cluster's pinned snapshot.
 *
 * 1. A data directory that already holds a member is left alone: init containers run again
 *    whenever the pod restarts, and by then etcd owns that data.
 * 2. The snapshot is downloaded from its store to a file beside the data directory (the member's
 *    own volume, which has room for it), checked against the size and SHA-256 the operator pinned.
 * 3. It is restored with the etcdutl of the cluster's minor into a staging directory, which is
 *    renamed into place; the downloaded file is removed.
 */
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { StorageLocation } from '../../generated/types.js';
import type { KubeReader } from '../kube/client.js';
import type { Logger } from '../kube/logger.js';
import { writeCheckedSnapshot } from './check-snapshot.js';
import { findSnapshotRestoreTool } from './etcd-tools.js';
import { holdsMember, restoreDataDir } from './restore-data-dir.js';
import { openStore, type ClaimDirectory } from './stores.js';

export interface MemberRestoreRequest {
  /** The member's etcd --data-dir. */
  dataDir: string;
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerURLs: string;
  /** The cluster's etcd version: its minor's etcdutl restores. */
  etcdVersion: string;
  storage: StorageLocation;
  /** The namespace of the cluster (where the location's claim and Secret are). */
  namespace: string;
  snapshot: string;
  sha256: string;
  size: number;
}

export interface MemberRestoreDeps {
  /** Where etcdutl-<minor> is (the agent's PATH). */
  binDirs: readonly string[];
  /** Where the backup claim is mounted, for volume locations. */
  claimDir?: ClaimDirectory;
  /** Serves the credentials Secret (restore-credentials.ts). */
  kube: KubeReader;
  logger: Logger;
  signal?: AbortSignal;
}

export async function restoreMember(
  request: MemberRestoreRequest,
  deps: MemberRestoreDeps,
): Promise<'restored' | 'kept'> {
  const log = deps.logger.child({ member: request.name, snapshot: request.snapshot });
  if (await holdsMember(request.dataDir)) {
    log.info({ dataDir: request.dataDir }, 'the data directory already holds a member: nothing to restore');
    return 'kept';
  }
  const tool = findSnapshotRestoreTool(request.etcdVersion, deps.binDirs);
  const store = await openStore(request.storage, {
    kube: deps.kube,
    namespace: request.namespace,
    ...(deps.claimDir ? { claimDir: deps.claimDir } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const file = join(dirname(request.dataDir), `.${basename(request.dataDir)}.snapshot.db`);
  const started = Date.now();
  try {
    log.info({ store: store.description, size: request.size }, 'downloading the snapshot');
    const body = await store.get(request.snapshot, deps.signal ? { signal: deps.signal } : {});
    const expected = { size: request.size, sha256: request.sha256 };
    await writeCheckedSnapshot(
      request.snapshot,
      body,
      expected,
      file,
      deps.signal ? { signal: deps.signal } : {},
    );
    log.info({ ms: Date.now() - started, tool: tool.command }, 'snapshot checked; restoring');
    await restoreDataDir({
      tool,
      snapshot: file,
      dataDir: request.dataDir,
      name: request.name,
      initialCluster: request.initialCluster,
      initialClusterToken: request.initialClusterToken,
      initialAdvertisePeerURLs: request.initialAdvertisePeerURLs,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
  } finally {
    await rm(file, { force: true });
  }
  log.info({ dataDir: request.dataDir, ms: Date.now() - started }, 'restored the data directory');
  return 'restored';
}
