/**
 * The snapshot an EtcdCluster's `spec.bootstrap.restore` names, found and checked before any member
 * starts: the EtcdBackup's latest snapshot (or the source as given), its manifest (a snapshot without
 * one is not a backup), an etcd minor the cluster can restore, and the stored bytes streamed once
 * against the manifest's size and SHA-256 and etcd's own trailer.
 *
 * The answer is a verdict, not an exception: what is wrong, in one line, and whether looking again
 * later can change it (a backup not written yet: yes; a corrupted snapshot: no).
 */
import { text } from 'node:stream/consumers';
import type { RestoreSpec, RestoredFrom, StorageLocation } from '../../generated/types.js';
import { parseVersion } from '../api/semver.js';
import { InterruptedError, SnapshotIntegrityError, hasCause, isNotFound } from '../errors.js';
import { EtcdBackups } from '../kube/resources.js';
import { checkStoredSnapshot } from './check-snapshot.js';
import { manifestKey, parseManifest, type BackupManifest } from './manifest.js';
import type { SnapshotStore } from './store.js';
import { openStore, type StoreContext } from './stores.js';

export type RestoreFailureReason =
  /** The EtcdBackup, its latest snapshot, the snapshot or its manifest does not exist (yet). */
  | 'BackupNotFound'
  /** The manifest is malformed, or the stored snapshot is not the one it describes. */
  | 'SnapshotIntegrity'
  /** The snapshot's etcd minor cannot be restored by the cluster's. */
  | 'IncompatibleVersion'
  /** The storage could not be opened or read (credentials, network, a claim not mounted). */
  | 'StorageUnavailable';

export interface RestoreSourceFailure {
  reason: RestoreFailureReason;
  /** One line, naming the snapshot and what is wrong with it; never a credential. */
  message: string;
  /** Whether looking again later may find it well (false: only a change of the spec helps). */
  retry: boolean;
}

export type RestoreSourceCheck =
  ({ ok: true } & { restoredFrom: RestoredFrom }) | ({ ok: false } & RestoreSourceFailure);

export interface RestoreSourceContext extends StoreContext {
  /** The etcd version the new cluster runs. */
  clusterVersion: string;
  now: () => Date;
}

/** The failures that retrying cannot mend. */
export function isTerminalRestoreFailure(reason: string): boolean {
  return reason === 'SnapshotIntegrity' || reason === 'IncompatibleVersion';
}

/**
 * Why etcd `clusterVersion` cannot restore a snapshot taken from `snapshotVersion`, or undefined
 * when it can: the same minor, or the one before (a restore is an upgrade of the data, and etcd
 * upgrades one minor at a time); never a newer minor (a downgrade of the data).
 */
export function restoreVersionProblem(snapshotVersion: string, clusterVersion: string): string | undefined {
  const from = parseVersion(snapshotVersion);
  const to = parseVersion(clusterVersion);
  if (!from || !to) return undefined;
  const fromMinor = `${from.major}.${from.minor}`;
  const toMinor = `${to.major}.${to.minor}`;
  if (from.major !== to.major || from.minor > to.minor) {
    return `it was taken from etcd ${snapshotVersion}, and etcd ${clusterVersion} cannot restore a newer version`;
  }
  if (to.minor - from.minor > 1) {
    return `it was taken from etcd ${snapshotVersion}; etcd ${toMinor} restores snapshots of ${to.major}.${to.minor - 1} and ${toMinor} only (upgrade ${fromMinor} one minor at a time)`;
  }
  return undefined;
}

/** Finds, reads and checks the snapshot `restore` names; never throws but on abort. */
export async function checkRestoreSource(
  restore: RestoreSpec,
  context: RestoreSourceContext,
): Promise<RestoreSourceCheck> {
  const fail = (reason: RestoreFailureReason, message: string): RestoreSourceCheck => ({
    ok: false,
    reason,
    message,
    retry: !isTerminalRestoreFailure(reason),
  });
  let located: { storage: StorageLocation; snapshot: string; backupName?: string };
  if (restore.backupName !== undefined) {
    const key = { namespace: context.namespace, name: restore.backupName };
    const backup = await context.kube
      .get(EtcdBackups, key, { signal: context.signal })
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    if (!backup) return fail('BackupNotFound', `EtcdBackup ${restore.backupName} does not exist`);
    const latest = backup.status?.lastBackup?.name;
    if (!latest)
      return fail('BackupNotFound', `EtcdBackup ${restore.backupName} has no successful snapshot yet`);
    located = { storage: backup.spec.storage, snapshot: latest, backupName: restore.backupName };
  } else if (restore.source) {
    located = { storage: restore.source.storage, snapshot: restore.source.path };
  } else {
    return fail('BackupNotFound', 'spec.bootstrap.restore names neither backupName nor source');
  }
  const { snapshot } = located;

  let store: SnapshotStore;
  try {
    store = await openStore(located.storage, context);
  } catch (err) {
    if (hasCause(err, InterruptedError)) throw err;
    return fail('StorageUnavailable', `snapshot ${snapshot}: ${(err as Error).message}`);
  }
  const where = store.description;
  try {
    const manifest = await readManifest(store, snapshot);
    if (manifest === undefined) {
      return (await exists(store, snapshot))
        ? fail(
            'BackupNotFound',
            `snapshot ${snapshot} in ${where} has no manifest ${manifestKey(snapshot)} beside it: a snapshot without its manifest is not a backup`,
          )
        : fail('BackupNotFound', `no snapshot ${snapshot} in ${where}`);
    }
    if (manifest.snapshot !== snapshot) {
      return fail(
        'SnapshotIntegrity',
        `manifest ${manifestKey(snapshot)} in ${where} describes ${manifest.snapshot}, not ${snapshot}`,
      );
    }
    const versionProblem = restoreVersionProblem(manifest.etcdVersion, context.clusterVersion);
    if (versionProblem)
      return fail('IncompatibleVersion', `snapshot ${snapshot} cannot be restored: ${versionProblem}`);
    await checkStoredSnapshot(store, snapshot, manifest, context.signal ? { signal: context.signal } : {});
    return { ok: true, restoredFrom: pin(located, manifest, context.now()) };
  } catch (err) {
    if (hasCause(err, InterruptedError)) throw err;
    if (err instanceof SnapshotIntegrityError) return fail('SnapshotIntegrity', err.message);
    if (isNotFound(err)) return fail('BackupNotFound', `no snapshot ${snapshot} in ${where}`);
    return fail('StorageUnavailable', `snapshot ${snapshot} in ${where}: ${(err as Error).message}`);
  }
}

/** The manifest beside `snapshot`, undefined when there is none; SnapshotIntegrityError when malformed. */
async function readManifest(store: SnapshotStore, snapshot: string): Promise<BackupManifest | undefined> {
  const name = manifestKey(snapshot);
  let body;
  try {
    body = await store.get(name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return parseManifest(name, await text(body));
}

async function exists(store: SnapshotStore, name: string): Promise<boolean> {
  const objects = await store.list(name);
  return objects.some((o) => o.name === name);
}

function pin(
  located: { storage: StorageLocation; snapshot: string; backupName?: string },
  manifest: BackupManifest,
  now: Date,
): RestoredFrom {
  return {
    ...(located.backupName !== undefined ? { backupName: located.backupName } : {}),
    storage: located.storage,
    snapshot: located.snapshot,
    sha256: manifest.sha256,
    size: manifest.size,
    revision: manifest.revision,
    etcdVersion: manifest.etcdVersion,
    clusterID: manifest.clusterID,
    snapshotTime: manifest.time,
    verifiedTime: now.toISOString(),
  };
}
