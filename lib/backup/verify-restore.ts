/**
 * A backup verified by restoring it (EtcdBackup `spec.verify: Restore`): the snapshot restored with
 * the etcdutl of its etcd minor into a scratch directory, ONE etcd started over it on loopback, and
 * the key count and hashKV at the manifest's revision compared with those the manifest recorded
 * when the snapshot was taken. A checksum proves the bytes arrived; this proves they are the data.
 *
 * Whatever happens — a mismatch, a failed start, an abort — etcd is stopped and the scratch
 * directory removed before it returns.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { InterruptedError, SnapshotIntegrityError } from '../errors.js';
import { createEtcdAdmin } from '../etcd/admin.js';
import { freePort, startLocalEtcd, type LocalEtcd } from '../etcd/local-etcd.js';
import { readCheckedSnapshot, writeCheckedSnapshot } from './check-snapshot.js';
import { findEtcdTool, findSnapshotRestoreTool } from './etcd-tools.js';
import type { BackupManifest } from './manifest.js';
import { restoreDataDir } from './restore-data-dir.js';
import type { SnapshotStore } from './store.js';

export interface VerifyRestoreOptions {
  /** The etcd version whose tools restore and serve the snapshot (the backed-up cluster's). */
  etcdVersion: string;
  /** Where `etcd-<minor>` and `etcdutl-<minor>` are (the operator's PATH); see etcd-tools.ts. */
  binDirs: readonly string[];
  signal?: AbortSignal;
  /** Where the scratch directory is made; the system's temporary directory when absent. */
  scratchDir?: string;
  /** How long the scratch etcd may take to start; default 60 s. */
  startTimeoutMs?: number;
}

export interface RestoreVerification {
  /** Keys at `revision` in the restored snapshot. */
  keys: number;
  /** etcd's hashKV of the restored keyspace at `revision`. */
  hashKV: number;
  /** The manifest's revision, at which both were computed. */
  revision: number;
}

const MEMBER = 'verify';

/**
 * Restores `snapshot` (a file, or the snapshot's bytes as read from storage) and compares it with
 * `manifest`; throws a SnapshotIntegrityError naming the first mismatch.
 */
export async function verifyByRestore(
  snapshot: string | Readable | AsyncIterable<Buffer>,
  manifest: BackupManifest,
  options: VerifyRestoreOptions,
): Promise<RestoreVerification> {
  const { signal } = options;
  const interrupted = () => new InterruptedError(`test restore of ${manifest.snapshot} interrupted`);
  // Both lookups first: a missing tool fails before anything is made.
  const restoreTool = findSnapshotRestoreTool(options.etcdVersion, options.binDirs);
  const etcdBinary = findEtcdTool('etcd', options.etcdVersion, options.binDirs);
  if (signal?.aborted) throw interrupted();

  const scratch = await mkdtemp(join(options.scratchDir ?? tmpdir(), 'etcd-verify-'));
  let etcd: LocalEtcd | undefined;
  const stopOnAbort = () => void etcd?.stop(1_000);
  signal?.addEventListener('abort', stopOnAbort, { once: true });
  try {
    const expected = { size: manifest.size, sha256: manifest.sha256 };
    let file: string;
    if (typeof snapshot === 'string') {
      await readCheckedSnapshot(manifest.snapshot, createReadStream(snapshot), expected, { signal });
      file = snapshot;
    } else {
      file = join(scratch, 'snapshot.db');
      await writeCheckedSnapshot(manifest.snapshot, snapshot, expected, file, { signal });
    }

    const peerPort = await freePort();
    const dataDir = join(scratch, 'data');
    await restoreDataDir({
      tool: restoreTool,
      snapshot: file,
      dataDir,
      name: MEMBER,
      initialCluster: `${MEMBER}=http://127.0.0.1:${peerPort}`,
      initialClusterToken: `${MEMBER}-${manifest.clusterID}`,
      initialAdvertisePeerURLs: `http://127.0.0.1:${peerPort}`,
      ...(signal ? { signal } : {}),
    });
    if (signal?.aborted) throw interrupted();
    etcd = await startLocalEtcd({
      etcd: etcdBinary,
      version: options.etcdVersion,
      dataDir,
      name: MEMBER,
      peerPort,
      logFile: join(scratch, 'etcd.log'),
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      ...(signal ? { signal } : {}),
    });
    if (signal?.aborted) throw interrupted();

    const admin = createEtcdAdmin({ endpoints: [etcd.clientURL], timeoutMs: 60_000 });
    try {
      const endpoint = etcd.clientURL;
      const { revision: restoredRevision } = await admin.status(endpoint);
      if (restoredRevision < manifest.revision) {
        throw new SnapshotIntegrityError(
          `restored snapshot ${manifest.snapshot} is at revision ${restoredRevision}, its manifest says ${manifest.revision}`,
        );
      }
      const keys = await admin.countKeys(endpoint, manifest.revision);
      const { hash } = await admin.hashKV(endpoint, manifest.revision);
      if (signal?.aborted) throw interrupted();
      const at = `at revision ${manifest.revision}`;
      if (manifest.keys !== undefined && keys !== manifest.keys) {
        throw new SnapshotIntegrityError(
          `restored snapshot ${manifest.snapshot} holds ${keys} keys ${at}, its manifest says ${manifest.keys}`,
        );
      }
      if (manifest.hashKV !== undefined && hash !== manifest.hashKV) {
        throw new SnapshotIntegrityError(
          `restored snapshot ${manifest.snapshot} has hashKV ${hash} ${at}, its manifest says ${manifest.hashKV}`,
        );
      }
      return { keys, hashKV: hash, revision: manifest.revision };
    } finally {
      admin.close();
    }
  } catch (err) {
    if (signal?.aborted && !(err instanceof InterruptedError)) throw interrupted();
    throw err;
  } finally {
    signal?.removeEventListener('abort', stopOnAbort);
    await etcd?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * verifyByRestore in the shape the EtcdBackup controller takes it (`verifyByRestore` of its
 * options): the snapshot streamed from its store, restored with the tools of its own etcd version.
 */
export function storedSnapshotVerifier(
  options: Pick<VerifyRestoreOptions, 'binDirs' | 'scratchDir' | 'startTimeoutMs'>,
): (store: SnapshotStore, manifest: BackupManifest, signal?: AbortSignal) => Promise<void> {
  return async (store, manifest, signal) => {
    const body = await store.get(manifest.snapshot, signal ? { signal } : {});
    await verifyByRestore(body, manifest, {
      ...options,
      etcdVersion: manifest.etcdVersion,
      ...(signal ? { signal } : {}),
    });
  };
}
