/**
 * `kubectl etcd backup list [CLUSTER]`: the EtcdBackups and the snapshots in their stores, read
 * with the credentials their Secrets hold (S3, GCS) or, where a workstation cannot reach the store
 * (a volume claim), as their status records them.
 * `kubectl etcd backup CLUSTER`: a one-shot EtcdBackup, followed until the operator says how it
 * went, its progress on stderr; Ctrl-C stops following and leaves the operator to it.
 */
import type { CommandModule } from 'yargs';
import type { EtcdBackup, StorageLocation } from '../../generated/types.js';
import {
  EtcdOperatorError,
  ForbiddenError,
  GoneError,
  InterruptedError,
  NotFoundError,
  UnavailableError,
  UsageError,
} from '../../lib/errors.js';
import { parseDuration } from '../../lib/api/duration.js';
import { GROUP_VERSION } from '../../lib/api/group.js';
import type { KubeClient } from '../../lib/kube/client.js';
import { EtcdBackups } from '../../lib/kube/resources.js';
import { withSession } from '../command.js';
import { messageFor } from '../exit-codes.js';
import { onInterrupt } from '../interrupt.js';
import type { GlobalArgs, OutputFormat } from '../options.js';
import { renderData } from '../output/print.js';
import { progress, type Progress } from '../output/progress.js';
import { renderTable } from '../output/table.js';
import {
  VOLUME_NOT_READABLE,
  backupColumns,
  backupList,
  backupRows,
  catalogKey,
  describeRun,
  fromRecord,
  locationOf,
  runOutcome,
  type BackupList,
  type BackupRow,
  type StoreRead,
} from '../reports/backup.js';
import type { Session } from '../session.js';

type ListArgs = GlobalArgs & { CLUSTER?: string };

export interface StorageFlags {
  to?: string;
  credentialsSecret?: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

type CreateArgs = GlobalArgs &
  StorageFlags & {
    CLUSTER?: string;
    like?: string;
    name?: string;
    verify?: 'Checksum' | 'Restore';
    wait: boolean;
    timeout: string;
  };

const KIND = 'etcdbackup.etcd.io';
const FIELD_MANAGER = 'kubectl-etcd';
const WHERE = 'Where to store it';

const listCommand: CommandModule<GlobalArgs, ListArgs> = {
  command: 'list [CLUSTER]',
  describe: 'List the EtcdBackups (of CLUSTER) and the snapshots in their stores',
  builder: (y) =>
    y
      .positional('CLUSTER', { type: 'string', describe: 'Only the backups of this EtcdCluster' })
      .example('$0 backup list demo', "demo's backups and snapshots")
      .example('$0 backup list -A -o json', 'every backup, with full sha256s'),
  handler: (args) =>
    withSession(args, async (session) => {
      const { items } = await session.kube.list(
        EtcdBackups,
        session.allNamespaces ? {} : { namespace: session.namespace },
      );
      const backups = items.filter((b) => args.CLUSTER === undefined || b.spec.clusterName === args.CLUSTER);
      if (backups.length === 0) return noBackups(session, args.CLUSTER);
      if (args.output === 'name') {
        process.stdout.write(backups.map((b) => `${KIND}/${b.metadata.name ?? ''}\n`).join(''));
        return;
      }
      const list = backupList(backups, await readStores(session, backups));
      for (const b of list.backups) {
        if (b.store.readable || b.store.reason === VOLUME_NOT_READABLE) continue;
        process.stderr.write(
          `warning: ${b.store.location} not read (${b.store.reason}): showing what ${b.name}'s status records\n`,
        );
      }
      await printList(list, args.output, session.allNamespaces, args.noHeaders ?? false);
    }),
};

export const backupCommand: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'backup [CLUSTER]',
  describe: 'Take a backup of a cluster now and follow it until it is stored; backup list shows them',
  builder: (y) =>
    y
      .command(listCommand as never)
      .positional('CLUSTER', { type: 'string', describe: 'The EtcdCluster' })
      .option('to', {
        type: 'string',
        global: false,
        group: WHERE,
        describe: 's3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX] or pvc://CLAIM[/PATH]',
      })
      .option('credentials-secret', {
        type: 'string',
        global: false,
        group: WHERE,
        describe: 'With --to s3:// or gs://: the Secret holding the credentials',
      })
      .option('endpoint', {
        type: 'string',
        global: false,
        group: WHERE,
        describe: 'With --to s3:// or gs://: the endpoint URL',
      })
      .option('region', {
        type: 'string',
        global: false,
        group: WHERE,
        describe: "With --to s3://: the bucket's region",
      })
      .option('force-path-style', {
        type: 'boolean',
        global: false,
        group: WHERE,
        describe: 'With --to s3://: address the bucket as a path (most S3-compatible stores)',
      })
      .option('like', {
        type: 'string',
        global: false,
        group: WHERE,
        describe: 'Store it where this EtcdBackup stores its snapshots (default: where those of CLUSTER do)',
      })
      .option('verify', {
        choices: ['Checksum', 'Restore'] as const,
        global: false,
        describe: 'Check it by reading it back (Checksum, default) or by a test restore (Restore)',
      })
      .option('name', {
        type: 'string',
        global: false,
        describe: 'The EtcdBackup to create (default: CLUSTER-<random>)',
      })
      .option('wait', {
        type: 'boolean',
        global: false,
        default: true,
        describe: 'Follow it until it is stored or fails (--wait=false: return once created)',
      })
      .option('timeout', { type: 'string', global: false, default: '10m', describe: 'How long to follow it' })
      .example('$0 backup demo', 'store it where the EtcdBackups of demo store theirs')
      .example('$0 backup demo --to pvc://etcd-backups', 'on a volume claim')
      .example(
        '$0 backup demo --to s3://backups/etcd --credentials-secret s3-keys',
        'in an S3 bucket, with the keys of a Secret',
      ),
  handler: async (args) => {
    const cluster = args.CLUSTER;
    if (cluster === undefined) {
      throw new UsageError('name the cluster: kubectl etcd backup CLUSTER, or kubectl etcd backup list');
    }
    const timeout = timeoutMs(args.timeout);
    await withSession(args, async (session) => {
      const target = await session.target(cluster);
      if (!target.cluster) {
        throw new UsageError(
          `${target.namespace}/${target.name} is not an EtcdCluster: only the operator's clusters are backed up`,
        );
      }
      const where = await chooseStorage(session.kube, target.namespace, target.name, args);
      const created = await session.kube.create(
        EtcdBackups,
        oneShotBackup({
          namespace: target.namespace,
          cluster: target.name,
          storage: where.storage,
          ...(where.verify ? { verify: where.verify } : {}),
          ...(args.name !== undefined ? { name: args.name } : {}),
        }),
        { fieldManager: FIELD_MANAGER },
      );
      const name = `${KIND}/${created.metadata.name ?? ''}`;
      if (!args.wait) return printCreated(created, args.output);
      process.stderr.write(`${name} created, storing to ${locationOf(created.spec.storage)}\n`);
      const interrupt = onInterrupt();
      let done: EtcdBackup;
      try {
        done = await follow(session.kube, created, interrupt.signal, timeout);
      } finally {
        interrupt.dispose();
      }
      const outcome = runOutcome(done);
      if (outcome?.phase !== 'Succeeded') throw runFailed(done);
      await printResult(done, outcome.record, args.output, args.noHeaders ?? false);
    });
  },
};

/** --timeout in milliseconds; a usage error when it is not a duration. */
function timeoutMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--timeout "${text}" is not a duration (10m, 90s)`);
  return ms;
}

/** Where `--to` and its companions say a backup goes. */
export function storageFromFlags(flags: StorageFlags): StorageLocation {
  const { to, credentialsSecret, endpoint, region, forcePathStyle } = flags;
  const match = /^(s3|gs|gcs|pvc|volume):\/\/([^/]+)(\/.*)?$/.exec(to ?? '');
  if (!match) {
    throw new UsageError(
      `--to "${to ?? ''}" is not a location: s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX] or pvc://CLAIM[/PATH]`,
    );
  }
  const [, scheme = '', where = '', rest = ''] = match;
  const backend = scheme === 's3' ? 's3' : scheme === 'gs' || scheme === 'gcs' ? 'gcs' : 'volume';
  const given: [string, unknown, string[]][] = [
    ['credentials-secret', credentialsSecret, ['s3', 'gcs']],
    ['endpoint', endpoint, ['s3', 'gcs']],
    ['region', region, ['s3']],
    ['force-path-style', forcePathStyle, ['s3']],
  ];
  for (const [flag, value, backends] of given) {
    if (value !== undefined && !backends.includes(backend)) {
      throw new UsageError(
        `--${flag} goes with --to ${backends.map((b) => `${b === 'gcs' ? 'gs' : b}://`).join(' or ')}`,
      );
    }
  }
  const prefix = rest.replace(/^\/+/, '');
  const bucket = {
    bucket: where,
    ...(prefix !== '' ? { prefix } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
  };
  if (backend === 's3') {
    return {
      s3: {
        ...bucket,
        ...(region !== undefined ? { region } : {}),
        ...(forcePathStyle !== undefined ? { forcePathStyle } : {}),
        ...(credentialsSecret !== undefined ? { credentialsSecret: { name: credentialsSecret } } : {}),
      },
    } as StorageLocation;
  }
  if (backend === 'gcs') {
    return {
      gcs: {
        ...bucket,
        ...(credentialsSecret !== undefined ? { credentialsSecret: { name: credentialsSecret } } : {}),
      },
    };
  }
  return { volume: { claimName: where, path: rest === '' ? '/' : rest } };
}

/** The one-shot EtcdBackup `backup CLUSTER` creates. */
export function oneShotBackup(options: {
  namespace: string;
  cluster: string;
  storage: StorageLocation;
  verify?: 'Checksum' | 'Restore';
  name?: string;
}): EtcdBackup {
  const { namespace, cluster, storage, verify, name } = options;
  return {
    apiVersion: GROUP_VERSION,
    kind: 'EtcdBackup',
    metadata: { namespace, ...(name !== undefined ? { name } : { generateName: `${cluster}-` }) },
    spec: { clusterName: cluster, storage, ...(verify ? { verify } : {}) },
  } as EtcdBackup;
}

/**
 * --to, --like, or else where the cluster's EtcdBackups all store theirs. Several places, or none,
 * and the user is asked to say which.
 */
async function chooseStorage(
  kube: KubeClient,
  namespace: string,
  cluster: string,
  args: CreateArgs,
): Promise<{ storage: StorageLocation; verify?: 'Checksum' | 'Restore' }> {
  const verify = args.verify ? { verify: args.verify } : {};
  if (args.to !== undefined) {
    if (args.like !== undefined) throw new UsageError('give --to or --like, not both');
    return { storage: storageFromFlags(args), ...verify };
  }
  const stray = (['credentialsSecret', 'endpoint', 'region', 'forcePathStyle'] as const).find(
    (k) => args[k] !== undefined,
  );
  if (stray)
    throw new UsageError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --to`);
  if (args.like !== undefined) {
    const like = await kube.get(EtcdBackups, { namespace, name: args.like }).catch((err: unknown) => {
      throw err instanceof NotFoundError
        ? new NotFoundError(`no EtcdBackup "${args.like}" in namespace "${namespace}" to store like`, {
            cause: err,
          })
        : err;
    });
    return {
      storage: like.spec.storage,
      ...(like.spec.verify ? { verify: like.spec.verify } : {}),
      ...verify,
    };
  }
  const { items } = await kube.list(EtcdBackups, { namespace });
  const own = items.filter((b) => b.spec.clusterName === cluster);
  const places = new Map(own.map((b) => [catalogKey(b), b]));
  const only = places.size === 1 ? own[0] : undefined;
  if (!only) {
    const known =
      own.length > 0
        ? `EtcdBackups of ${cluster}: ${own.map((b) => b.metadata.name).join(', ')}`
        : `${cluster} has no EtcdBackup to store like`;
    throw new UsageError(
      `say where to store it: --to s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or pvc://CLAIM, or --like BACKUP (${known})`,
    );
  }
  return { storage: only.spec.storage, ...verify };
}

/** Follows the backup until its run ends; a line on stderr per change, a bar while bytes flow. */
async function follow(
  kube: KubeClient,
  created: EtcdBackup,
  interrupted: AbortSignal,
  timeoutMs: number,
): Promise<EtcdBackup> {
  const key = { namespace: created.metadata.namespace ?? '', name: created.metadata.name ?? '' };
  const stop = AbortSignal.any([interrupted, AbortSignal.timeout(timeoutMs)]);
  const view = runView();
  let latest = created;
  const ended = (backup: EtcdBackup): boolean => {
    latest = backup;
    view.show(backup);
    return runOutcome(backup) !== undefined;
  };
  try {
    if (ended(created)) return created;
    let resourceVersion = created.metadata.resourceVersion ?? '0';
    while (!stop.aborted) {
      const found = new AbortController();
      const watched = kube.watch(
        EtcdBackups,
        {
          namespace: key.namespace,
          fieldSelector: `metadata.name=${key.name}`,
          resourceVersion,
          timeoutSeconds: 60,
          signal: AbortSignal.any([stop, found.signal]),
        },
        (event) => {
          if (event.type === 'DELETED')
            throw new NotFoundError(`${KIND}/${key.name} was deleted while it ran`);
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
          if (event.type !== 'BOOKMARK' && ended(event.object)) found.abort();
        },
      );
      // 410: the version is too old to watch from; the read below starts from a new one.
      await watched.catch((err: unknown) => {
        if (!(err instanceof GoneError)) throw err;
      });
      if (found.signal.aborted) return latest;
      // The watch ended: read it again, in case a change fell between two watches.
      const current = await kube.get(EtcdBackups, key, { signal: stop });
      resourceVersion = current.metadata.resourceVersion ?? resourceVersion;
      if (ended(current)) return current;
    }
  } catch (err) {
    if (!stop.aborted) throw err;
  } finally {
    view.finish();
  }
  if (interrupted.aborted) {
    throw new InterruptedError(
      `stopped following; the operator goes on with ${KIND}/${key.name} (kubectl etcd backup list ${created.spec.clusterName} shows how it ends)`,
    );
  }
  throw new UnavailableError(
    `${KIND}/${key.name} did not finish within ${timeoutMs / 1000}s (${describeRun(latest)})`,
  );
}

/** What a person sees of a run on stderr: a line per change, a progress bar while bytes move. */
function runView(): { show(backup: EtcdBackup): void; finish(): void } {
  let last = '';
  let bar: Progress | undefined;
  return {
    show(backup) {
      const run = backup.status?.currentRun;
      const line = describeRun(backup);
      if (line !== last) {
        const outcome = runOutcome(backup);
        if (bar && outcome?.phase === 'Succeeded' && outcome.record.size !== undefined)
          bar.update(outcome.record.size, outcome.record.size);
        bar?.finish();
        bar = undefined;
        last = line;
        // A failure is the error line that follows.
        if (outcome?.phase !== 'Failed') process.stderr.write(`${line}\n`);
      }
      if (run?.totalBytes) {
        bar ??= progress(backup.metadata.name ?? '');
        bar.update(run.bytesWritten ?? 0, run.totalBytes);
      }
    },
    finish: () => bar?.finish(),
  };
}

/** A failed run as an error whose exit code says what kind of failure it was. */
function runFailed(backup: EtcdBackup): Error {
  const outcome = runOutcome(backup);
  const reason = outcome?.phase === 'Failed' ? outcome.reason : 'BackupFailed';
  const why = outcome?.phase === 'Failed' ? outcome.message : describeRun(backup);
  const message = `${KIND}/${backup.metadata.name ?? ''} failed (${reason}): ${why}; the operator retries it with backoff`;
  if (['NoQuorum', 'EtcdUnavailable', 'BackendUnreachable'].includes(reason))
    return new UnavailableError(message);
  if (reason === 'CredentialsRefused') return new ForbiddenError(message);
  if (['ClusterNotFound', 'BucketNotFound', 'CredentialsNotFound'].includes(reason))
    return new NotFoundError(message);
  if (reason === 'StorageMisconfigured') return new UsageError(message);
  return new EtcdOperatorError(message);
}

/**
 * The manifests of each store the backups write to, read once per cluster and location. A volume
 * claim cannot be read from a workstation; a store that fails to answer says why.
 */
async function readStores(session: Session, backups: readonly EtcdBackup[]): Promise<Map<string, StoreRead>> {
  const { openStore, readCatalog } = await import('../core.js');
  // The S3 SDK warns on stderr, on every run, that its releases after 2026 need Node 22: nothing a
  // user of this plugin can act on (the SDK is bundled), so it is turned off unless they set it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const places = new Map(backups.map((b) => [catalogKey(b), b]));
  const read = async (backup: EtcdBackup): Promise<StoreRead> => {
    if (backup.spec.storage.volume) return { reason: VOLUME_NOT_READABLE };
    try {
      const store = await openStore(backup.spec.storage, {
        kube: session.kube,
        namespace: backup.metadata.namespace ?? '',
      });
      return { manifests: (await readCatalog(store, backup.spec.clusterName)).backups };
    } catch (err) {
      return { reason: messageFor(err) };
    }
  };
  return new Map(await Promise.all([...places].map(async ([key, b]) => [key, await read(b)] as const)));
}

/** kubectl's words for an empty list; a CLUSTER that does not exist either is an error. */
async function noBackups(session: Session, cluster: string | undefined): Promise<void> {
  const where = session.allNamespaces ? '' : ` in ${session.namespace} namespace`;
  if (cluster === undefined) {
    process.stderr.write(`No etcd backups found${where}.\n`);
    return;
  }
  await session.target(cluster);
  process.stderr.write(`No backups of ${cluster} found${where}.\n`);
}

async function printList(list: BackupList, format: OutputFormat, allNamespaces: boolean, noHeaders: boolean) {
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(await renderData(list, format));
    return;
  }
  const wide = format === 'wide';
  process.stdout.write(
    renderTable(backupRows(list), backupColumns(allNamespaces, wide), { wide, noHeaders }),
  );
}

async function printCreated(created: EtcdBackup, format: OutputFormat): Promise<void> {
  const name = `${KIND}/${created.metadata.name ?? ''}`;
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(await renderData(created, format));
    return;
  }
  process.stdout.write(format === 'name' ? `${name}\n` : `${name} created\n`);
}

async function printResult(
  backup: EtcdBackup,
  record: NonNullable<NonNullable<EtcdBackup['status']>['lastBackup']>,
  format: OutputFormat,
  noHeaders: boolean,
): Promise<void> {
  const snapshot = fromRecord(backup, record, locationOf(backup.spec.storage));
  if (format === 'name') {
    process.stdout.write(`${KIND}/${backup.metadata.name ?? ''}\n`);
    return;
  }
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(await renderData(snapshot, format));
    return;
  }
  const row: BackupRow = {
    namespace: snapshot.namespace,
    cluster: snapshot.cluster,
    backup: snapshot.backup,
    phase: 'Succeeded',
    store: snapshot.store,
    snapshot,
  };
  const wide = format === 'wide';
  process.stdout.write(renderTable([row], backupColumns(false, wide), { wide, noHeaders }));
}
