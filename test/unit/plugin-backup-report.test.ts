import t from 'tap';
import type { StorageLocation } from '../../generated/types.js';
import type { EtcdBackup } from '../../lib/api/index.js';
import type { BackupManifest } from '../../lib/backup/index.js';
import { UsageError } from '../../lib/errors.js';
import { COMMANDS } from '../../plugin/cli.js';
import { oneShotBackup, storageFromFlags } from '../../plugin/commands/backup.js';
import { complete, type LookupKind } from '../../plugin/completion.js';
import { withGlobalOptions } from '../../plugin/options.js';
import { renderTable } from '../../plugin/output/table.js';
import {
  VOLUME_NOT_READABLE,
  backupColumns,
  backupList,
  backupRows,
  catalogKey,
  describeRun,
  locationOf,
  runOutcome,
  type StoreRead,
} from '../../plugin/reports/backup.js';

const SHA_A = 'a'.repeat(60) + '0001';
const SHA_B = 'b'.repeat(60) + '0002';
const SHA_C = 'c'.repeat(64);
const s3 = {
  s3: { bucket: 'backups', prefix: 'etcd', credentialsSecret: { name: 's3-keys' } },
} as unknown as StorageLocation;

const backup = (name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): EtcdBackup =>
  ({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdBackup',
    metadata: { name, namespace: 'default' },
    spec: { clusterName: 'demo', storage: { volume: { claimName: 'snapshots' } }, ...spec },
    ...(status ? { status } : {}),
  }) as unknown as EtcdBackup;

const manifest = (snapshot: string, extra: Partial<BackupManifest>): BackupManifest => ({
  format: 'etcd.io/backup-manifest/v1',
  snapshot,
  cluster: 'demo',
  namespace: 'default',
  clusterID: '0123456789abcdef',
  revision: 10,
  etcdVersion: '3.5.9',
  member: 'demo-1',
  size: 20480,
  sha256: SHA_A,
  time: '2026-01-01T10:00:00.000Z',
  operatorVersion: '0.1.0',
  backup: 'nightly',
  ...extra,
});

const record = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  time: '2026-01-02T08:00:00.123Z',
  revision: 42,
  size: 1536,
  sha256: SHA_C,
  member: 'demo-0',
  clusterID: '0123456789abcdef',
  etcdVersion: '3.5.9',
  verified: 'Checksum',
  ...extra,
});

t.test('locations are named as the stores name themselves, without credentials', async (t) => {
  t.equal(locationOf(s3), 's3://backups/etcd/');
  t.equal(locationOf({ gcs: { bucket: 'b', prefix: '/x/y/' } }), 'gs://b/x/y/');
  t.equal(locationOf({ volume: { claimName: 'snapshots' } } as StorageLocation), 'volume snapshots:/');
  t.equal(locationOf({ volume: { claimName: 'snapshots', path: '/etcd' } }), 'volume snapshots:/etcd');
});

t.test('--to and its companions make a storage location', async (t) => {
  t.same(
    storageFromFlags({
      to: 's3://backups/etcd/prod',
      credentialsSecret: 'keys',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
    }),
    {
      s3: {
        bucket: 'backups',
        prefix: 'etcd/prod',
        endpoint: 'http://127.0.0.1:9000',
        region: 'us-east-1',
        forcePathStyle: true,
        credentialsSecret: { name: 'keys' },
      },
    },
  );
  t.same(storageFromFlags({ to: 's3://backups' }), { s3: { bucket: 'backups' } });
  t.same(storageFromFlags({ to: 'gs://b/p', credentialsSecret: 'gcs' }), {
    gcs: { bucket: 'b', prefix: 'p', credentialsSecret: { name: 'gcs' } },
  });
  t.same(storageFromFlags({ to: 'pvc://snapshots' }), { volume: { claimName: 'snapshots', path: '/' } });
  t.same(storageFromFlags({ to: 'volume://snapshots/etcd' }), {
    volume: { claimName: 'snapshots', path: '/etcd' },
  });
  t.throws(
    () => storageFromFlags({ to: 'backups' }),
    new UsageError(
      '--to "backups" is not a location: s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX] or pvc://CLAIM[/PATH]',
    ),
  );
  t.throws(() => storageFromFlags({ to: 'pvc://x', endpoint: 'http://e' }), {
    message: '--endpoint goes with --to s3:// or gs://',
  });
  t.throws(() => storageFromFlags({ to: 'gs://b', region: 'eu' }), {
    message: '--region goes with --to s3://',
  });
});

t.test('a one-shot backup is named after its cluster unless --name says otherwise', async (t) => {
  const made = oneShotBackup({ namespace: 'prod', cluster: 'demo', storage: s3 });
  t.same(made.metadata, { namespace: 'prod', generateName: 'demo-' });
  t.same(made.spec, { clusterName: 'demo', storage: s3 });
  t.notOk(made.spec.schedule, 'no schedule: it runs once');
  const named = oneShotBackup({
    namespace: 'prod',
    cluster: 'demo',
    storage: s3,
    name: 'x',
    verify: 'Restore',
  });
  t.same(named.metadata, { namespace: 'prod', name: 'x' });
  t.equal(named.spec.verify, 'Restore');
});

t.test('backups sharing a store read one catalog, whatever the order of their fields', async (t) => {
  const a = backup('a', { storage: { s3: { bucket: 'backups', prefix: 'etcd' } } });
  const b = backup('b', { storage: { s3: { prefix: 'etcd', bucket: 'backups' } } });
  const c = backup('c', { clusterName: 'other', storage: { s3: { bucket: 'backups', prefix: 'etcd' } } });
  t.equal(catalogKey(a), catalogKey(b));
  t.not(catalogKey(a), catalogKey(c), 'another cluster reads another folder');
});

t.test('a read store lists each snapshot once, with what its manifest says', async (t) => {
  const nightly = backup(
    'nightly',
    { storage: s3, schedule: '0 2 * * *', verify: 'Restore' },
    { phase: 'Succeeded', lastBackup: record('demo/demo-2.db', { verified: 'Restore', sha256: SHA_B }) },
  );
  const now = backup('now', { storage: s3 }, { phase: 'Running' });
  const reads = new Map<string, StoreRead>([
    [
      catalogKey(nightly),
      {
        manifests: [
          manifest('demo/demo-2.db', { time: '2026-01-02T02:00:00.000Z', sha256: SHA_B, revision: 20 }),
          manifest('demo/demo-1.db', { time: '2026-01-01T02:00:00.000Z' }),
          manifest('demo/demo-0.db', { time: '2025-12-31T02:00:00.000Z', backup: 'gone', sha256: SHA_C }),
          manifest('demo/demo-x.db', { namespace: 'elsewhere' }),
        ],
      },
    ],
  ]);
  const list = backupList([now, nightly], reads);
  t.same(
    list.backups.map((b) => [b.name, b.phase, b.schedule, b.store]),
    [
      ['nightly', 'Succeeded', '0 2 * * *', { location: 's3://backups/etcd/', readable: true }],
      ['now', 'Running', undefined, { location: 's3://backups/etcd/', readable: true }],
    ],
  );
  t.same(
    list.snapshots.map((s) => [s.name, s.backup, s.revision, s.verified, s.source]),
    [
      ['demo/demo-2.db', 'nightly', 20, 'Restore', 'store'],
      ['demo/demo-1.db', 'nightly', 10, 'Checksum', 'store'],
      ['demo/demo-0.db', 'gone', 10, 'Checksum', 'store'],
    ],
    'newest first, once each; a manifest is a Checksum at least; another namespace is left out',
  );
  t.equal(list.snapshots[0]?.sha256, SHA_B, 'the full sha256');

  const table = renderTable(backupRows(list), backupColumns(false, false));
  t.equal(
    table,
    [
      'CLUSTER   BACKUP    PHASE       TIME                   REVISION   SIZE     SHA256         VERIFIED   STORE',
      'demo      nightly   Succeeded   2026-01-02T02:00:00Z   20         20Ki     bbbbbbbbbbbb   Restore    s3://backups/etcd/',
      'demo      nightly   Succeeded   2026-01-01T02:00:00Z   10         20Ki     aaaaaaaaaaaa   Checksum   s3://backups/etcd/',
      'demo      gone      <none>      2025-12-31T02:00:00Z   10         20Ki     cccccccccccc   Checksum   s3://backups/etcd/',
      'demo      now       Running     <none>                 <none>     <none>   <none>         <none>     s3://backups/etcd/',
      '',
    ].join('\n'),
    'the snapshots, then the backup that has none yet; sha256 shortened',
  );
  const wide = renderTable(backupRows(list), backupColumns(true, true), { noHeaders: true, wide: true });
  t.match(
    wide.split('\n')[0],
    new RegExp(
      `^default +demo +nightly .* ${SHA_B} +Restore +s3://backups/etcd/ +demo/demo-2\\.db +demo-1 +3\\.5\\.9$`,
    ),
  );
});

t.test('a store not read (a volume) shows what status.lastBackup records, and says so', async (t) => {
  const now = backup('now', {}, { phase: 'Succeeded', lastBackup: record('demo/demo-9.db') });
  const pending = backup('pending', {});
  const reads = new Map<string, StoreRead>([[catalogKey(now), { reason: VOLUME_NOT_READABLE }]]);
  const list = backupList([pending, now], reads);
  t.same(list.backups[0]?.store, {
    location: 'volume snapshots:/',
    readable: false,
    reason: VOLUME_NOT_READABLE,
  });
  t.same(list.snapshots, [
    {
      namespace: 'default',
      cluster: 'demo',
      backup: 'now',
      name: 'demo/demo-9.db',
      time: '2026-01-02T08:00:00.123Z',
      revision: 42,
      size: 1536,
      sha256: SHA_C,
      verified: 'Checksum',
      member: 'demo-0',
      etcdVersion: '3.5.9',
      clusterID: '0123456789abcdef',
      store: 'volume snapshots:/',
      source: 'status',
    },
  ]);
  const rows = backupRows(list);
  t.same(
    rows.map((r) => [r.backup, r.phase, r.store, r.snapshot?.revision]),
    [
      ['now', 'Succeeded', 'volume snapshots:/ (from status)', 42],
      ['pending', undefined, 'volume snapshots:/ (from status)', undefined],
    ],
  );
  t.match(
    renderTable(rows, backupColumns(false, false)),
    /2026-01-02T08:00:00Z {3}42 {9}1\.5Ki {4}cccccccccccc {3}Checksum {3}volume snapshots:\/ \(from status\)\n/,
  );
});

t.test('a run reads as a line per change, until it succeeds or fails', async (t) => {
  const b = (status?: Record<string, unknown>) => backup('demo-x1', {}, status);
  t.equal(describeRun(b()), 'demo-x1: Pending, waiting for the operator');
  t.equal(runOutcome(b()), undefined);
  const running = b({
    phase: 'Running',
    currentRun: { name: 'n', startTime: 't', member: 'demo-2', bytesWritten: 5 },
  });
  t.equal(describeRun(running), 'demo-x1: Running, streaming from demo-2');
  t.equal(runOutcome(running), undefined);
  const done = b({ phase: 'Succeeded', lastBackup: record('demo/demo-1.db') });
  t.equal(describeRun(done), 'demo-x1: Succeeded, revision 42, 1.5Ki, verified by Checksum');
  t.match(runOutcome(done), { phase: 'Succeeded', record: { revision: 42, sha256: SHA_C } });
  const failed = b({
    phase: 'Failed',
    consecutiveFailures: 1,
    conditions: [
      { type: 'Running', status: 'False', reason: 'Idle', message: '' },
      { type: 'Succeeded', status: 'False', reason: 'BucketNotFound', message: 's3://nope/: no such bucket' },
    ],
  });
  t.equal(describeRun(failed), 'demo-x1: Failed (BucketNotFound): s3://nope/: no such bucket');
  t.same(runOutcome(failed), {
    phase: 'Failed',
    reason: 'BucketNotFound',
    message: 's3://nope/: no such bucket',
    attempts: 1,
  });
});

t.test('completion offers list and the clusters after backup, and backups for --like', async (t) => {
  const asked: [LookupKind, string | undefined][] = [];
  const lookup = async (kind: LookupKind, _words: readonly string[], cluster?: string) => {
    asked.push([kind, cluster]);
    return kind === 'cluster' ? ['demo', 'other'] : kind === 'backup' ? ['nightly', 'now'] : [];
  };
  const values = async (...typed: string[]) =>
    (await complete(COMMANDS, withGlobalOptions, typed, lookup))
      .trimEnd()
      .split('\n')
      .slice(0, -1)
      .map((l) => l.split('\t')[0]);
  t.same(await values('backup', ''), ['list', 'demo', 'other']);
  t.same(await values('backup', 'list', ''), ['demo', 'other']);
  t.same(await values('backup', 'demo', '--like', 'n'), ['nightly', 'now']);
  t.same(await values('backup', 'demo', ''), [], 'one cluster is all it takes');
  t.ok((await values('backup', 'demo', '--')).includes('--to'));
  t.notOk((await values('backup', 'list', '--')).includes('--to'), 'list takes no storage flags');
  t.same(asked, [
    ['cluster', undefined],
    ['cluster', undefined],
    ['backup', 'demo'],
  ]);
});
