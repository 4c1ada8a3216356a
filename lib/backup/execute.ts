/**
 * Act: one backup run, and the settling of a run an operator crash interrupted. The bytes make one
 * pass from a member to the store: size, SHA-256 and etcd's trailer are checked as they flow, and
 * the store commits the object only if the stream ended whole. Then the object is read back and
 * checked, and only then is its manifest written: a snapshot without one is never a backup.
 *
 * Failures never throw out of here: they become status, a Warning Event and a retry with backoff.
 * The cluster is only read.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { BackupRecord, BackupRun, EtcdBackup, EtcdCluster } from '../../generated/types.js';
import { etcdAccess, readSecrets } from '../cluster/observe.js';
import { LABEL_CLUSTER, clusterNames } from '../cluster/naming.js';
import {
  BucketNotFoundError,
  ForbiddenError,
  InterruptedError,
  NotFoundError,
  SnapshotIntegrityError,
  UnavailableError,
  UsageError,
} from '../errors.js';
import { createEtcdAdmin, streamSnapshot, type EtcdAdmin } from '../etcd/index.js';
import type { Cache, Clock, EventRecorder, KubeReader, KubeWriter, Logger } from '../kube/index.js';
import { EtcdBackups, Pods } from '../kube/resources.js';
import { VERSION } from '../version.js';
import { readCatalog } from './catalog.js';
import {
  MANIFEST_FORMAT,
  encodeManifest,
  manifestKey,
  parseManifest,
  snapshotKey,
  type BackupManifest,
} from './manifest.js';
import type { BackupMetrics } from './metrics.js';
import { expiredBackups } from './retention.js';
import { chooseSnapshotMember } from './source-member.js';
import {
  failedStatus,
  runningStatus,
  succeededStatus,
  type Failure,
  type FailureReason,
  type StatusPatch,
} from './status.js';
import type { SnapshotStore } from './store.js';
import { openStore, type ClaimDirectory } from './stores.js';

/** How often a run's progress is written to status.currentRun. */
const PROGRESS_INTERVAL_MS = 2_000;

export interface BackupDeps {
  /** Reads credentials Secrets (not cached: only what uploads reads them) and writes status. */
  client: KubeReader & Pick<KubeWriter, 'patch'>;
  cache: Pick<Cache, 'list'>;
  recorder: EventRecorder;
  logger: Logger;
  clock: Clock;
  fieldManager: string;
  /** Where this process sees PersistentVolumeClaims (--backup-volume-root). */
  claimDir?: ClaimDirectory;
  metrics?: BackupMetrics;
  /** Deadline of each etcd call other than the snapshot stream. */
  etcdTimeoutMs?: number;
  /** Restores a stored snapshot into a scratch etcd and checks it against its manifest (spec.verify: Restore). */
  verifyByRestore?: (store: SnapshotStore, manifest: BackupManifest, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

/** A failure whose reason the run already knows. */
class RunFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

type Stage = 'storage' | 'etcd' | 'upload' | 'verify';

/** Takes one snapshot of `cluster` for `backup`; resolves once status says how it went. */
export async function runBackup(
  backup: EtcdBackup,
  cluster: EtcdCluster,
  scheduledTime: Date | undefined,
  deps: BackupDeps,
): Promise<{ ok: boolean }> {
  const started = new Date(deps.clock.now());
  const run: BackupRun = {
    name: snapshotKey(backup.spec.clusterName, started),
    startTime: started.toISOString(),
    ...(scheduledTime ? { scheduledTime: scheduledTime.toISOString() } : {}),
  };
  // Recorded before a byte moves, so that a crash mid-upload is found and settled by the next pass.
  let current = await writeStatus(backup, runningStatus(backup, run, started), deps);
  const progress = new ProgressWriter(current, run, deps);
  let stage: Stage = 'storage';
  let store: SnapshotStore | undefined;
  let uploaded = false;
  try {
    store = await openStore(backup.spec.storage, context(backup, deps));
    await removeLeftovers(backup, store);
    stage = 'etcd';
    const manifest = await withAdmin(cluster, deps, async (admin) => {
      const { endpoint, member, etcdVersion, clusterId } = await sourceMember(cluster, admin);
      const snapshot = await streamSnapshot(admin, endpoint, {
        ...(deps.signal ? { signal: deps.signal } : {}),
        onProgress: (p) => progress.update({ member, bytesWritten: p.bytes, totalBytes: p.totalBytes }),
      });
      // What a restore must find at that revision, read from the same member while the snapshot
      // streams (before it compacts); awaited once the upload is done, and dropped if it fails.
      const facts = Promise.all([
        admin.countKeys(endpoint, snapshot.revision),
        admin.hashKV(endpoint, snapshot.revision),
      ]);
      facts.catch(() => undefined);
      stage = 'upload';
      const etcdFailed = { error: undefined as unknown };
      try {
        await store!.put(run.name, Readable.from(remember(snapshot.bytes, etcdFailed)), {
          ...(deps.signal ? { signal: deps.signal } : {}),
          contentType: 'application/octet-stream',
        });
      } catch (err) {
        throw etcdFailed.error ?? err;
      }
      uploaded = true;
      stage = 'etcd';
      const [keys, hash] = await facts;
      const { size, sha256 } = snapshot.digest();
      stage = 'verify';
      await checkStored(store!, run.name, size, sha256, deps.signal);
      const manifest: BackupManifest = {
        format: MANIFEST_FORMAT,
        snapshot: run.name,
        cluster: backup.spec.clusterName,
        namespace: backup.metadata.namespace ?? '',
        clusterID: clusterId,
        revision: snapshot.revision,
        etcdVersion,
        member,
        size,
        sha256,
        time: started.toISOString(),
        operatorVersion: VERSION,
        backup: backup.metadata.name ?? '',
        keys,
        hashKV: hash.hash,
      };
      if (backup.spec.verify === 'Restore') {
        if (!deps.verifyByRestore) throw new UsageError('verify: Restore is not available in this process');
        await deps.verifyByRestore(store!, manifest, deps.signal);
      }
      await store!.put(manifestKey(run.name), Readable.from([encodeManifest(manifest)]), {
        contentType: 'application/json',
      });
      return manifest;
    });
    await progress.stop();
    const finished = new Date(deps.clock.now());
    const record = backupRecord(manifest, backup.spec.verify ?? 'Checksum', finished);
    current = await writeStatus(current, succeededStatus(current, run, record, finished), deps);
    await deps.recorder.event(
      backup,
      'Normal',
      'BackupSucceeded',
      `stored ${manifest.snapshot} (revision ${manifest.revision}, ${manifest.size} bytes) in ${store.description}`,
    );
    observeSuccess(backup, manifest, started, finished, deps);
    await applyRetention(current, store, deps);
    return { ok: true };
  } catch (err) {
    await progress.stop();
    const failure = classify(err, stage, store?.description);
    // A stored snapshot without its manifest is no backup; remove it rather than leave it to confuse.
    if (uploaded && store) await store.delete(run.name).catch(() => undefined);
    await recordFailure(current, run, failure, deps);
    return { ok: false };
  }
}

/**
 * A run found in status at the start of a pass was interrupted (the operator stopped mid-run). If its
 * manifest made it, the backup is complete and adopted; otherwise its leftovers are deleted and the
 * run is recorded as failed. Either way status.currentRun is cleared.
 */
export async function settleInterruptedRun(
  backup: EtcdBackup,
  run: BackupRun,
  deps: BackupDeps,
): Promise<void> {
  let store: SnapshotStore;
  try {
    store = await openStore(backup.spec.storage, context(backup, deps));
  } catch (err) {
    // The store cannot be reached: leave currentRun for a later pass, which tries again.
    await recordFailure(backup, undefined, classify(err, 'storage'), deps, { keepRun: true });
    return;
  }
  const manifest = await readManifest(store, run.name);
  if (manifest) {
    // Its manifest is written only after the read-back check passed.
    const now = new Date(deps.clock.now());
    await writeStatus(
      backup,
      succeededStatus(backup, run, backupRecord(manifest, 'Checksum', now), now),
      deps,
    );
    return;
  }
  await store.delete(run.name);
  await recordFailure(
    backup,
    run,
    {
      reason: 'Interrupted',
      message: `run ${run.name} was interrupted (the operator stopped); its partial upload was removed`,
    },
    deps,
  );
}

/**
 * Deletes what the failed runs since the last success may have left: a run cut off by a store that
 * went away could not clean up then (S3 keeps its multipart upload pending). A name with a manifest
 * is a backup and is kept. Best effort: if the store does not answer, the run says so itself.
 */
async function removeLeftovers(backup: EtcdBackup, store: SnapshotStore): Promise<void> {
  const { history = [], consecutiveFailures = 0 } = backup.status ?? {};
  for (const { name, outcome } of history.slice(0, consecutiveFailures)) {
    if (outcome !== 'Failed' || name === '') continue;
    try {
      if (!(await readManifest(store, name))) await store.delete(name);
    } catch {
      return;
    }
  }
}

/** status.lastBackup for a complete backup, verified by `verified` at `time`. */
function backupRecord(
  manifest: BackupManifest,
  verified: BackupRecord['verified'],
  time: Date,
): BackupRecord {
  return {
    name: manifest.snapshot,
    time: manifest.time,
    revision: manifest.revision,
    size: manifest.size,
    sha256: manifest.sha256,
    member: manifest.member,
    clusterID: manifest.clusterID,
    etcdVersion: manifest.etcdVersion,
    verified,
    verifiedTime: time.toISOString(),
  };
}

/** The backup's cluster does not exist: nothing is touched, the failure is recorded. */
export async function recordClusterMissing(backup: EtcdBackup, deps: BackupDeps): Promise<void> {
  await recordFailure(
    backup,
    undefined,
    {
      reason: 'ClusterNotFound',
      message: `EtcdCluster "${backup.spec.clusterName}" does not exist in namespace ${backup.metadata.namespace}`,
    },
    deps,
  );
}

/** Writes a status patch unless it changes nothing; returns the backup as it now stands. */
export async function writeStatus(
  backup: EtcdBackup,
  patch: StatusPatch,
  deps: BackupDeps,
): Promise<EtcdBackup> {
  const before = backup.status ?? {};
  const changed = Object.entries(patch).some(
    ([k, v]) => JSON.stringify(before[k as keyof typeof before] ?? null) !== JSON.stringify(v ?? null),
  );
  if (!changed) return backup;
  return deps.client.patch(
    EtcdBackups,
    { namespace: backup.metadata.namespace ?? '', name: backup.metadata.name ?? '' },
    { type: 'merge', body: { status: patch } },
    { subresource: 'status', fieldManager: deps.fieldManager },
  );
}

async function recordFailure(
  backup: EtcdBackup,
  run: BackupRun | undefined,
  failure: Failure,
  deps: BackupDeps,
  options: { keepRun?: boolean } = {},
): Promise<void> {
  const patch = failedStatus(backup, run, failure, new Date(deps.clock.now()));
  if (options.keepRun) delete patch.currentRun;
  await writeStatus(backup, patch, deps);
  await deps.recorder.event(backup, 'Warning', failure.reason, failure.message);
  deps.metrics?.runs.inc({ ...labels(backup), outcome: 'failed', reason: failure.reason });
  deps.logger.warn({ reason: failure.reason, message: failure.message }, 'backup failed');
}

function classify(err: unknown, stage: Stage, where?: string): Failure {
  if (err instanceof RunFailure) return err.failure;
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  const message = where && !first.includes(where) ? `${where}: ${first}` : first;
  return { reason: reasonOf(err, stage), message };
}

function reasonOf(err: unknown, stage: Stage): FailureReason {
  if (err instanceof InterruptedError) return 'Interrupted';
  if (err instanceof SnapshotIntegrityError)
    return stage === 'verify' ? 'VerificationFailed' : 'IntegrityCheckFailed';
  if (err instanceof BucketNotFoundError) return 'BucketNotFound';
  if (stage === 'etcd') return err instanceof UnavailableError ? 'EtcdUnavailable' : 'BackupFailed';
  if (err instanceof ForbiddenError) return 'CredentialsRefused';
  if (err instanceof UnavailableError) return 'BackendUnreachable';
  if (stage === 'storage' && err instanceof NotFoundError) return 'CredentialsNotFound';
  if (stage === 'storage' && err instanceof UsageError) return 'StorageMisconfigured';
  return 'BackupFailed';
}

/** The member to stream from, by pod name, with its version; a RunFailure when there is no quorum. */
async function sourceMember(
  cluster: EtcdCluster,
  admin: EtcdAdmin,
): Promise<{ endpoint: string; member: string; etcdVersion: string; clusterId: string }> {
  const statuses = await admin.statusAll();
  const chosen = chooseSnapshotMember(statuses);
  if (!chosen) {
    const answered = statuses.filter((s) => !('error' in s)).length;
    throw new RunFailure({
      reason: 'NoQuorum',
      message: `EtcdCluster "${cluster.metadata.name}" has no leader (${answered} of ${statuses.length} members answered); nothing was taken`,
    });
  }
  // Linearizable: proves the quorum is there, and names the member.
  const { clusterId, members } = await admin.memberList();
  const member = members.find((m) => m.id === chosen.memberId)?.name || chosen.memberId;
  return { endpoint: chosen.endpoint, member, etcdVersion: chosen.version, clusterId };
}

async function withAdmin<T>(
  cluster: EtcdCluster,
  deps: BackupDeps,
  fn: (admin: EtcdAdmin) => Promise<T>,
): Promise<T> {
  const names = clusterNames(cluster);
  const pods = await deps.cache.list(Pods, {
    namespace: names.namespace,
    labelSelector: { matchLabels: { [LABEL_CLUSTER]: names.cluster } },
    ownerUid: cluster.metadata.uid ?? '',
  });
  const access = etcdAccess(cluster, pods.items, await readSecrets(cluster, names, deps.cache));
  if (!access) {
    throw new RunFailure({
      reason: 'NoQuorum',
      message: `EtcdCluster "${names.cluster}" has no running member the operator can reach; nothing was taken`,
    });
  }
  const admin = createEtcdAdmin({
    endpoints: access.endpoints,
    timeoutMs: deps.etcdTimeoutMs ?? 5_000,
    ...(access.tls ? { tls: access.tls } : {}),
  });
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/**
 * Passes the bytes on, keeping the error if the member's stream is what failed. Only an error of the
 * member's own reading counts: when the store stops reading (its upload failed), Node throws an
 * AbortError into this generator, and that must not hide the store's own error.
 */
async function* remember(bytes: AsyncIterable<Buffer>, failed: { error: unknown }): AsyncGenerator<Buffer> {
  const iterator = bytes[Symbol.asyncIterator]();
  try {
    for (;;) {
      let step: IteratorResult<Buffer>;
      try {
        step = await iterator.next();
      } catch (err) {
        failed.error = err;
        throw err;
      }
      if (step.done) return;
      yield step.value;
    }
  } finally {
    // If the reader stopped early, this closes the member's stream; how that ends no longer matters.
    await iterator.return?.().catch(() => undefined);
  }
}

/** Reads the object back from the store and checks it is what was sent. */
async function checkStored(
  store: SnapshotStore,
  name: string,
  size: number,
  sha256: string,
  signal?: AbortSignal,
) {
  const hash = createHash('sha256');
  let stored = 0;
  for await (const chunk of (await store.get(name, signal ? { signal } : {})) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    stored += chunk.length;
  }
  const got = hash.digest('hex');
  if (stored !== size || got !== sha256) {
    throw new SnapshotIntegrityError(
      `${store.description}: ${name} read back as ${stored} bytes with sha256 ${got}, but ${size} bytes with sha256 ${sha256} were sent`,
    );
  }
}

async function readManifest(store: SnapshotStore, snapshot: string): Promise<BackupManifest | undefined> {
  const name = manifestKey(snapshot);
  try {
    return parseManifest(name, await text(await store.get(name)));
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof SnapshotIntegrityError) return undefined;
    throw err;
  }
}

/**
 * After a success, deletes what the retention policy no longer keeps among this EtcdBackup's own
 * snapshots: the manifest first, so that a half-done deletion leaves no backup that looks whole.
 */
async function applyRetention(backup: EtcdBackup, store: SnapshotStore, deps: BackupDeps): Promise<void> {
  const policy = backup.spec.retention;
  if (!policy || backup.spec.schedule === undefined) return;
  try {
    const { backups } = await readCatalog(store, backup.spec.clusterName);
    const own = backups.filter(
      (b) => b.backup === backup.metadata.name && b.namespace === backup.metadata.namespace,
    );
    const expired = expiredBackups(own, policy, new Date(deps.clock.now()));
    for (const old of expired) {
      await store.delete(manifestKey(old.snapshot));
      await store.delete(old.snapshot);
    }
    if (expired.length > 0) {
      deps.logger.info({ deleted: expired.map((b) => b.snapshot) }, 'retention deleted old snapshots');
    }
  } catch (err) {
    const message = `retention could not clean ${store.description}: ${(err as Error).message.split('\n')[0]}`;
    await deps.recorder.event(backup, 'Warning', 'RetentionFailed', message);
  }
}

function observeSuccess(
  backup: EtcdBackup,
  manifest: BackupManifest,
  started: Date,
  finished: Date,
  deps: BackupDeps,
) {
  if (!deps.metrics) return;
  const l = labels(backup);
  deps.metrics.runs.inc({ ...l, outcome: 'succeeded', reason: '' });
  deps.metrics.bytes.inc(l, manifest.size);
  deps.metrics.duration.observe(l, (finished.getTime() - started.getTime()) / 1000);
  deps.metrics.lastSuccess.set(l, Date.parse(manifest.time) / 1000);
}

function labels(backup: EtcdBackup) {
  return { namespace: backup.metadata.namespace ?? '', backup: backup.metadata.name ?? '' };
}

function context(backup: EtcdBackup, deps: BackupDeps) {
  return {
    kube: deps.client,
    namespace: backup.metadata.namespace ?? '',
    ...(deps.claimDir ? { claimDir: deps.claimDir } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  };
}

/** Writes a run's progress to status.currentRun at most every PROGRESS_INTERVAL_MS, one write at a time. */
class ProgressWriter {
  private latest: Partial<BackupRun> | undefined;
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private backup: EtcdBackup,
    private readonly run: BackupRun,
    private readonly deps: BackupDeps,
  ) {
    this.lastWrite = deps.clock.now();
  }

  update(progress: Partial<BackupRun>): void {
    this.latest = progress;
    const now = this.deps.clock.now();
    if (this.stopped || now - this.lastWrite < PROGRESS_INTERVAL_MS) return;
    this.lastWrite = now;
    this.writing = this.writing.then(async () => {
      if (this.stopped) return;
      try {
        this.backup = await writeStatus(
          this.backup,
          { currentRun: { ...this.run, ...this.latest } },
          this.deps,
        );
      } catch (err) {
        this.deps.logger.debug({ err: (err as Error).message }, 'backup progress not written');
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.writing;
  }
}
