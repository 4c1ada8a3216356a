/**
 * `kubectl etcd backup list` and `kubectl etcd backup CLUSTER`: what the EtcdBackups of a namespace
 * and the stores they write to say about the snapshots of each cluster, and how a run in progress
 * reads to a person. Pure: the commands gather (the EtcdBackups, the manifests of the stores they
 * could read), this decides what each row says.
 */
import type { BackupRecord, EtcdBackup, StorageLocation } from '../../generated/types.js';
import type { BackupManifest } from '../../lib/backup/manifest.js';
import { bucketLocation } from '../../lib/backup/object-store.js';
import type { Column } from '../output/table.js';
import { size } from './status.js';

export interface StoreReport {
  /** Where, as the operator's Events name it: `s3://bucket/prefix/`, `volume backups:/`. */
  location: string;
  /** True when the plugin read the store's manifests; otherwise snapshots come from status. */
  readable: boolean;
  /** Why it was not read. */
  reason?: string;
}

export interface BackupReport {
  namespace: string;
  name: string;
  cluster: string;
  schedule?: string;
  phase?: string;
  verify: string;
  store: StoreReport;
  /** Why the latest run failed, when it did. */
  failure?: { reason: string; message: string };
}

export interface SnapshotReport {
  namespace: string;
  cluster: string;
  /** The EtcdBackup that took it (it may have been deleted since). */
  backup: string;
  /** Its key in the store. */
  name: string;
  /** When it was taken (RFC 3339). */
  time: string;
  revision?: number;
  size?: number;
  /** All 64 hex digits. */
  sha256?: string;
  /** How it was checked after upload: Checksum (read back) or Restore (restored into a scratch etcd). */
  verified?: string;
  member?: string;
  etcdVersion?: string;
  clusterID?: string;
  store: string;
  /** `store`: read from its manifest in the store; `status`: from its EtcdBackup's status.lastBackup. */
  source: 'store' | 'status';
}

export interface BackupList {
  backups: BackupReport[];
  snapshots: SnapshotReport[];
}

/** What reading one store gave: the manifests under the cluster's folder, or why there are none. */
export type StoreRead = { manifests: BackupManifest[] } | { reason: string };

/** A volume is a claim inside the cluster: a workstation has no way into it. */
export const VOLUME_NOT_READABLE = 'a volume claim is read only by the operator, not from a workstation';

/** Where a location is, as the stores describe themselves (without credentials). */
export function locationOf(location: StorageLocation): string {
  if (location.s3) return bucketLocation('s3', location.s3.bucket, location.s3.prefix).description;
  if (location.gcs) return bucketLocation('gs', location.gcs.bucket, location.gcs.prefix).description;
  if (location.volume) return `volume ${location.volume.claimName}:${location.volume.path ?? '/'}`;
  return 'none';
}

/**
 * Backups that read the same catalog: one cluster, in one namespace, written to one location. The
 * commands read each catalog once; `backupList` finds it again under this key.
 */
export function catalogKey(backup: EtcdBackup): string {
  return JSON.stringify([
    backup.metadata.namespace ?? '',
    backup.spec.clusterName,
    sorted(backup.spec.storage),
  ]);
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, sorted(v)]),
  );
}

/**
 * The backups and, once each, the snapshots of their clusters: from each store that was read, every
 * snapshot with a manifest (a manifest is written only after the stored object was read back and
 * its SHA-256 matched, so each was verified at least by Checksum); from a store that was not, what
 * status.lastBackup of its backups records.
 */
export function backupList(
  backups: readonly EtcdBackup[],
  reads: ReadonlyMap<string, StoreRead>,
): BackupList {
  const ordered = [...backups].sort(byNamespaceClusterName);
  const reports: BackupReport[] = [];
  const snapshots = new Map<string, SnapshotReport>();
  for (const backup of ordered) {
    const namespace = backup.metadata.namespace ?? '';
    const cluster = backup.spec.clusterName;
    const location = locationOf(backup.spec.storage);
    const read = reads.get(catalogKey(backup)) ?? { reason: 'not read' };
    reports.push(backupReport(backup, location, read));
    const found =
      'manifests' in read
        ? read.manifests
            .filter((m) => m.cluster === cluster && (m.namespace === '' || m.namespace === namespace))
            .map((m) => fromManifest(m, location, verifiedBy(backups, m)))
        : backup.status?.lastBackup
          ? [fromRecord(backup, backup.status.lastBackup, location)]
          : [];
    for (const s of found) snapshots.set(JSON.stringify([namespace, s.store, s.name]), s);
  }
  return { backups: reports, snapshots: [...snapshots.values()].sort(newestFirst) };
}

function backupReport(backup: EtcdBackup, location: string, read: StoreRead): BackupReport {
  const { schedule } = backup.spec;
  const phase = backup.status?.phase;
  const failed = backup.status?.conditions?.find((c) => c.type === 'Succeeded' && c.status === 'False');
  return {
    namespace: backup.metadata.namespace ?? '',
    name: backup.metadata.name ?? '',
    cluster: backup.spec.clusterName,
    ...(schedule !== undefined ? { schedule } : {}),
    ...(phase !== undefined ? { phase } : {}),
    verify: backup.spec.verify ?? 'Checksum',
    store: {
      location,
      ...('manifests' in read ? { readable: true } : { readable: false, reason: read.reason }),
    },
    ...(failed ? { failure: { reason: failed.reason, message: failed.message } } : {}),
  };
}

/** Restore when the backup that took it says so in status.lastBackup; Checksum for any other manifest. */
function verifiedBy(backups: readonly EtcdBackup[], manifest: BackupManifest): string {
  const taker = backups.find(
    (b) =>
      b.metadata.name === manifest.backup &&
      (manifest.namespace === '' || b.metadata.namespace === manifest.namespace),
  );
  const last = taker?.status?.lastBackup;
  return last?.name === manifest.snapshot && last.verified ? last.verified : 'Checksum';
}

function fromManifest(m: BackupManifest, store: string, verified: string): SnapshotReport {
  return {
    namespace: m.namespace,
    cluster: m.cluster,
    backup: m.backup,
    name: m.snapshot,
    time: m.time,
    revision: m.revision,
    size: m.size,
    sha256: m.sha256,
    verified,
    member: m.member,
    etcdVersion: m.etcdVersion,
    clusterID: m.clusterID,
    store,
    source: 'store',
  };
}

/** The snapshot status.lastBackup records (what `backup CLUSTER` prints once its run succeeded). */
export function fromRecord(backup: EtcdBackup, record: BackupRecord, store: string): SnapshotReport {
  const optional = {
    revision: record.revision,
    size: record.size,
    sha256: record.sha256,
    verified: record.verified,
    member: record.member,
    etcdVersion: record.etcdVersion,
    clusterID: record.clusterID,
  };
  return {
    namespace: backup.metadata.namespace ?? '',
    cluster: backup.spec.clusterName,
    backup: backup.metadata.name ?? '',
    name: record.name,
    time: record.time,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    store,
    source: 'status',
  };
}

function byNamespaceClusterName(a: EtcdBackup, b: EtcdBackup): number {
  const key = (x: EtcdBackup) => [x.metadata.namespace ?? '', x.spec.clusterName, x.metadata.name ?? ''];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) {
    const order = ka[i]!.localeCompare(kb[i]!, 'en', { numeric: true });
    if (order !== 0) return order;
  }
  return 0;
}

function newestFirst(a: SnapshotReport, b: SnapshotReport): number {
  return (
    a.namespace.localeCompare(b.namespace) ||
    a.cluster.localeCompare(b.cluster, 'en', { numeric: true }) ||
    Date.parse(b.time) - Date.parse(a.time) ||
    a.name.localeCompare(b.name)
  );
}

/** One line of the table: a snapshot, or a backup that has none to show yet. */
export interface BackupRow {
  namespace: string;
  cluster: string;
  backup: string;
  /** The phase of the EtcdBackup `backup`, while it exists. */
  phase?: string;
  store: string;
  snapshot?: SnapshotReport;
}

/** Every snapshot, then a row for each backup none of them came from (Pending, Failed, deleted stores). */
export function backupRows({ backups, snapshots }: BackupList): BackupRow[] {
  const phaseOf = (namespace: string, name: string) =>
    backups.find((b) => b.namespace === namespace && b.name === name)?.phase;
  const rows: BackupRow[] = snapshots.map((s) => ({
    namespace: s.namespace,
    cluster: s.cluster,
    backup: s.backup,
    ...optional('phase', phaseOf(s.namespace, s.backup)),
    store: s.source === 'store' ? s.store : `${s.store} (from status)`,
    snapshot: s,
  }));
  for (const b of backups) {
    if (snapshots.some((s) => s.namespace === b.namespace && s.backup === b.name)) continue;
    rows.push({
      namespace: b.namespace,
      cluster: b.cluster,
      backup: b.name,
      ...optional('phase', b.phase),
      store: b.store.readable ? b.store.location : `${b.store.location} (from status)`,
    });
  }
  return rows;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The SHA-256 as a table shows it: the first 12 hex digits, enough to tell snapshots apart. */
export function shortSha(sha256: string | undefined): string | undefined {
  return sha256?.slice(0, 12);
}

/** RFC 3339 to the second, as kubectl prints times. */
export function shortTime(time: string | undefined): string | undefined {
  return time?.replace(/\.\d+Z$/, 'Z');
}

export function backupColumns(allNamespaces: boolean, wide: boolean): Column<BackupRow>[] {
  return [
    ...(allNamespaces ? [{ header: 'namespace', value: (r: BackupRow) => r.namespace }] : []),
    { header: 'cluster', value: (r) => r.cluster },
    { header: 'backup', value: (r) => r.backup },
    { header: 'phase', value: (r) => r.phase },
    { header: 'time', value: (r) => shortTime(r.snapshot?.time) },
    { header: 'revision', value: (r) => r.snapshot?.revision },
    { header: 'size', value: (r) => size(r.snapshot?.size) },
    { header: 'sha256', value: (r) => (wide ? r.snapshot?.sha256 : shortSha(r.snapshot?.sha256)) },
    { header: 'verified', value: (r) => r.snapshot?.verified },
    { header: 'store', value: (r) => r.store },
    { header: 'snapshot', value: (r) => r.snapshot?.name, wide: true },
    { header: 'member', value: (r) => r.snapshot?.member, wide: true },
    { header: 'etcd version', value: (r) => r.snapshot?.etcdVersion, wide: true },
  ];
}

/** How a run stands: done well, done badly, or not yet. */
export type RunOutcome =
  | { phase: 'Succeeded'; record: BackupRecord }
  | { phase: 'Failed'; reason: string; message: string; attempts: number }
  | undefined;

export function runOutcome(backup: EtcdBackup): RunOutcome {
  const status = backup.status;
  if (!status || status.currentRun) return undefined;
  if (status.phase === 'Succeeded' && status.lastBackup)
    return { phase: 'Succeeded', record: status.lastBackup };
  if (status.phase !== 'Failed') return undefined;
  const failed = status.conditions?.find((c) => c.type === 'Succeeded' && c.status === 'False');
  return {
    phase: 'Failed',
    reason: failed?.reason ?? 'BackupFailed',
    message: failed?.message ?? status.history?.[0]?.message ?? 'the run failed',
    attempts: status.consecutiveFailures ?? 1,
  };
}

/** One line per change a person would care about (the bytes go to a progress bar instead). */
export function describeRun(backup: EtcdBackup): string {
  const name = backup.metadata.name ?? '';
  const status = backup.status;
  const run = status?.currentRun;
  if (run) return `${name}: Running${run.member ? `, streaming from ${run.member}` : ''}`;
  const outcome = runOutcome(backup);
  if (outcome?.phase === 'Succeeded') {
    const r = outcome.record;
    return `${name}: Succeeded, revision ${r.revision ?? '?'}, ${size(r.size) ?? '?'}, verified by ${r.verified ?? 'Checksum'}`;
  }
  if (outcome?.phase === 'Failed') return `${name}: Failed (${outcome.reason}): ${outcome.message}`;
  return `${name}: ${status?.phase ?? 'Pending'}, waiting for the operator`;
}
