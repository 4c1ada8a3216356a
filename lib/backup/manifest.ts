/**
 * A backup is two objects: the snapshot and, beside it, a small JSON manifest that says what the
 * snapshot is. The manifest is written last, after the snapshot was read back and checked, so a
 * snapshot without its manifest (an interrupted run) is never taken for a backup.
 */
import { SnapshotIntegrityError } from '../errors.js';

export const MANIFEST_FORMAT = 'etcd.io/backup-manifest/v1';
const SNAPSHOT_SUFFIX = '.db';
const MANIFEST_SUFFIX = '.json';

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  /** The snapshot's key under the storage location. */
  snapshot: string;
  cluster: string;
  namespace: string;
  /** 16 hex digits. */
  clusterID: string;
  revision: number;
  etcdVersion: string;
  /** The member the snapshot was streamed from. */
  member: string;
  size: number;
  sha256: string;
  /** When the snapshot was taken (RFC 3339). */
  time: string;
  operatorVersion: string;
  /** The EtcdBackup that took it. */
  backup: string;
  /** The number of keys at `revision`, for a restore to compare with. */
  keys?: number;
  /** etcd's hashKV of the whole keyspace at `revision`, for a restore to compare with. */
  hashKV?: number;
}

/**
 * The key of a new snapshot: `<prefix><cluster>/<cluster>-<UTC time to the millisecond>.db`, as in
 * `demo/demo-20261207T010203.456Z.db`. Times sort as text, so the newest snapshot sorts last; the
 * milliseconds keep two backups started in one second apart; the cluster's folder keeps clusters
 * sharing a bucket apart.
 */
export function snapshotKey(cluster: string, time: Date): string {
  const stamp = time.toISOString().replace(/[-:]/g, '');
  return `${cluster}/${cluster}-${stamp}${SNAPSHOT_SUFFIX}`;
}

export function manifestKey(snapshot: string): string {
  return snapshot.endsWith(SNAPSHOT_SUFFIX)
    ? snapshot.slice(0, -SNAPSHOT_SUFFIX.length) + MANIFEST_SUFFIX
    : snapshot + MANIFEST_SUFFIX;
}

export function isManifestKey(name: string): boolean {
  return name.endsWith(MANIFEST_SUFFIX);
}

export function encodeManifest(manifest: BackupManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

/** Parses a manifest read from `name`; throws SnapshotIntegrityError naming what is wrong. */
export function parseManifest(name: string, text: string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SnapshotIntegrityError(`manifest ${name} is not JSON`);
  }
  const m = value as Partial<BackupManifest> | null;
  const problem =
    m === null || typeof m !== 'object'
      ? 'is not an object'
      : m.format !== MANIFEST_FORMAT
        ? `has format ${JSON.stringify(m.format)}, not ${MANIFEST_FORMAT}`
        : typeof m.snapshot !== 'string' || m.snapshot === ''
          ? 'names no snapshot'
          : typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)
            ? 'has no valid sha256'
            : !Number.isSafeInteger(m.size) || (m.size ?? 0) <= 0
              ? 'has no valid size'
              : !Number.isSafeInteger(m.revision)
                ? 'has no valid revision'
                : typeof m.time !== 'string' || Number.isNaN(Date.parse(m.time))
                  ? 'has no valid time'
                  : undefined;
  if (problem) throw new SnapshotIntegrityError(`manifest ${name} ${problem}`);
  return m as BackupManifest;
}
