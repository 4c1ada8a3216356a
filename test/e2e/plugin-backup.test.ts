/**
 * `kubectl etcd backup` through the real kubectl, with the operator and real etcd: a backup taken
 * and followed to Succeeded (progress on stderr, the new snapshot on stdout, matching the file and
 * manifest in the claim), the store of the cluster's backups reused, an S3 backup read back through
 * the Secret's credentials by `backup list`, `--wait=false`, Ctrl-C, a timeout, a missing cluster,
 * and refused credentials — and no Secret value in anything printed.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { manifestKey, type BackupManifest } from '../../lib/backup/index.js';
import { EtcdBackups, EtcdClusters, KubeClient, Namespaces, Secrets } from '../../lib/kube/index.js';
import { EXIT } from '../../plugin/exit-codes.js';
import type { BackupList, SnapshotReport } from '../../plugin/reports/backup.js';
import { converged, createClaim, createCluster } from '../helpers/cluster.js';
import { etcdClient } from '../helpers/etcd-client.js';
import { startOperator } from '../helpers/operator.js';
import { buildPlugin, kubectlEtcd, type PluginResult } from '../helpers/plugin.js';
import { eventually, expectNothingLeft, startTestSandbox } from '../helpers/sandbox.js';
import { s3CredentialsSecret, startS3Server } from '../../sandbox/storage-servers.js';

const NS = 'default';
// A cluster, an operator and several backups against real etcd: longer than tap's default per file.
t.setTimeout(900_000);
/** A namespace no operator watches: backups there wait for ever. */
const IDLE_NS = 'unwatched';

const sandbox = await startTestSandbox(t);
const bin = await buildPlugin(t);
const s3 = await startS3Server(t);
const claimDir = (namespace: string, claim: string) => sandbox.runtime.claimDir(namespace, claim);
await startOperator(t, sandbox.kubeConfig, [`--namespaces=${NS}`], undefined, { claimDir });
const client = new KubeClient(sandbox.kubeConfig);
t.teardown(() => client.close());

await createCluster(client, NS, 'demo', { size: 1, version: '3.5.9' });
await createClaim(client, NS, 'snapshots');
const BAD_SECRET = 'not-the-secret-key-0123456789';
for (const [name, secretAccessKey] of [
  ['s3-credentials', s3.secretAccessKey],
  ['wrong-credentials', BAD_SECRET],
] as const) {
  await client.create(Secrets, s3CredentialsSecret(s3, NS, name, secretAccessKey));
}
await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: IDLE_NS } });
await client.create(EtcdClusters, {
  apiVersion: 'etcd.io/v1alpha1',
  kind: 'EtcdCluster',
  metadata: { name: 'idle', namespace: IDLE_NS },
  spec: { size: 1 },
} as never);
await converged(client, NS, 'demo', 1);
const volume = await eventually('the claim to be bound', async () => claimDir(NS, 'snapshots'), 120_000);

const etcd = await etcdClient(sandbox.kubeConfig, NS, 'demo');
t.teardown(() => etcd.close());
for (let i = 0; i < 300; i++) await etcd.put(`key-${i}`).value(`value-${i}`.repeat(20));

const kubectl = kubectlEtcd(t, sandbox, bin);
/** Everything the plugin printed, to look for Secret values in at the end. */
const printed: PluginResult[] = [];
const etcdPlugin = async (...args: string[]) => {
  const r = await kubectl.run(['etcd', ...args]);
  printed.push(r);
  return r;
};
const S3_FLAGS = [
  '--to=s3://backups/etcd',
  `--endpoint=${s3.endpoint}`,
  `--region=${s3.region}`,
  '--force-path-style',
];

function manifestOf(snapshot: string): BackupManifest {
  return JSON.parse(readFileSync(join(volume, manifestKey(snapshot)), 'utf8')) as BackupManifest;
}

let first: SnapshotReport;

/** The V8 code caches the plugin wrote: one per lazily compiled part of it (plugin/bundling.ts). */
const compiledParts = () =>
  readdirSync(join(kubectl.env.KUBECACHEDIR!, 'kubectl-etcd')).filter((f) => f.endsWith('.v8'));

await t.test('backup CLUSTER --to pvc:// follows the run to Succeeded and prints the snapshot', async (t) => {
  const r = await etcdPlugin('backup', 'demo', '--to', 'pvc://snapshots', '-o', 'json');
  t.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  t.match(lines[0], /^etcdbackup\.etcd\.io\/demo-[a-z0-9]{5} created, storing to volume snapshots:\/$/);
  t.ok(
    lines.some((l) => /^demo-[a-z0-9]{5}: Running(, streaming from demo-0)?$/.test(l)),
    `a line when it starts: ${r.stderr}`,
  );
  t.match(lines.at(-1), /^demo-[a-z0-9]{5}: Succeeded, revision \d+, [\d.]+[KM]i, verified by Checksum$/);
  for (const line of lines.filter((l) => /%/.test(l)))
    t.match(line, /^demo-[a-z0-9]{5}: \d+% \(/, 'progress lines name the backup');

  first = JSON.parse(r.stdout) as SnapshotReport;
  t.match(first, {
    namespace: NS,
    cluster: 'demo',
    backup: /^demo-[a-z0-9]{5}$/,
    name: /^demo\/demo-\d{8}T\d{6}\.\d{3}Z\.db$/,
    verified: 'Checksum',
    member: 'demo-0',
    store: 'volume snapshots:/',
  });
  t.match(first.sha256, /^[0-9a-f]{64}$/, 'the full sha256');
  const bytes = readFileSync(join(volume, first.name));
  t.equal(first.size, bytes.length, 'the size printed is the file in the claim');
  t.equal(first.sha256, createHash('sha256').update(bytes).digest('hex'), 'so is the sha256');
  const manifest = manifestOf(first.name);
  t.equal(first.revision, manifest.revision, 'the revision is the manifest’s');
  t.ok(first.revision! >= 301, `revision ${first.revision} covers every write`);
});

await t.test('backup CLUSTER stores where the cluster’s backups store, and prints a table', async (t) => {
  const r = await etcdPlugin('backup', 'demo');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /^etcdbackup\.etcd\.io\/demo-\S+ created, storing to volume snapshots:\/\n/);
  const [header, row, ...rest] = r.stdout.split('\n');
  t.match(
    header,
    /^CLUSTER {3}BACKUP {7}PHASE {7}TIME {19}REVISION {3}SIZE {3,}SHA256 {9}VERIFIED {3}STORE$/,
  );
  t.match(
    row,
    /^demo {6}demo-[a-z0-9]{5} {3}Succeeded {3}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {3}\d+ +[\d.]+[KM]i +[0-9a-f]{12} {3}Checksum {3}volume snapshots:\/$/,
  );
  t.same(rest, [''], 'one row');
});

await t.test('an S3 backup is taken with the Secret’s keys', async (t) => {
  const r = await etcdPlugin(
    'backup',
    'demo',
    ...S3_FLAGS,
    '--credentials-secret=s3-credentials',
    '-o',
    'yaml',
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /created, storing to s3:\/\/backups\/etcd\/\n/);
  t.match(r.stdout, /^namespace: default\ncluster: demo\nbackup: demo-\S+\nname: demo\/demo-\S+\.db\n/);
  t.match(r.stdout, /\nsha256: [0-9a-f]{64}\n/);

  const ambiguous = await etcdPlugin('backup', 'demo');
  t.equal(ambiguous.code, EXIT.usage);
  t.match(
    ambiguous.stderr,
    /^error: say where to store it: --to s3:\/\/BUCKET\/PREFIX, gs:\/\/BUCKET\/PREFIX or pvc:\/\/CLAIM, or --like BACKUP \(EtcdBackups of demo: demo-\S+, demo-\S+, demo-\S+\)\n$/,
    'two places: the user chooses',
  );
});

await t.test(
  'backup list shows each backup’s snapshot; the S3 store is read, the volume is not',
  async (t) => {
    t.equal(compiledParts().length, 1, 'so far the core alone: no command read a bucket');
    const r = await etcdPlugin('backup', 'list', 'demo', '-o', 'json');
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr, '', 'no warning: the volume is known not to be readable from here');
    t.equal(compiledParts().length, 2, 'reading the S3 store compiled the S3 part, once');
    const list = JSON.parse(r.stdout) as BackupList;
    t.equal(list.backups.length, 3);
    const byStore = (location: string) => list.backups.filter((b) => b.store.location === location);
    t.same(
      byStore('volume snapshots:/').map((b) => b.store.readable),
      [false, false],
    );
    t.match(byStore('s3://backups/etcd/'), [
      { store: { readable: true }, phase: 'Succeeded', verify: 'Checksum' },
    ]);
    t.equal(list.snapshots.length, 3, 'one snapshot per backup');
    for (const s of list.snapshots) {
      t.match(s.sha256, /^[0-9a-f]{64}$/, `${s.name}: the full sha256`);
      if (s.store === 'volume snapshots:/') {
        t.equal(s.source, 'status');
        const manifest = manifestOf(s.name);
        t.same(
          [s.revision, s.size, s.sha256],
          [manifest.revision, manifest.size, manifest.sha256],
          'as the manifest says',
        );
      } else {
        t.equal(s.source, 'store', 'read from its manifest in the bucket');
        t.equal(s.store, 's3://backups/etcd/');
      }
    }
    const volumeFirst = list.snapshots.find((s) => s.name === first.name);
    t.same(volumeFirst && [volumeFirst.revision, volumeFirst.sha256], [first.revision, first.sha256]);

    const table = await etcdPlugin('backup', 'list', 'demo');
    t.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trimEnd().split('\n');
    t.equal(rows.length, 4, 'a header and three snapshots');
    const firstRow = rows.find((l) => l.includes(first.sha256!.slice(0, 12)));
    t.ok(firstRow, 'the first backup’s row shows its sha256 shortened');
    t.match(
      firstRow,
      new RegExp(
        `^demo {6}${first.backup} {3}Succeeded .* ${first.revision} .* Checksum {3}volume snapshots:/ \\(from status\\)$`,
      ),
    );
    t.notOk(table.stdout.includes(first.sha256!), 'not the whole sha256 in the table');
    t.ok(
      rows.some((l) => /s3:\/\/backups\/etcd\/$/.test(l)),
      'the S3 snapshot, read from the bucket',
    );
    const wide = await etcdPlugin('backup', 'list', '-o', 'wide');
    t.ok(wide.stdout.includes(first.sha256!), '-o wide shows it whole');
    t.match(wide.stdout, /SNAPSHOT {2,}MEMBER {2,}ETCD VERSION\n/);

    const names = await etcdPlugin('backup', 'list', '-o', 'name');
    t.equal(names.stdout.trimEnd().split('\n').length, 3);
    t.match(names.stdout, /^etcdbackup\.etcd\.io\/demo-\S+\n/);
  },
);

await t.test('--wait=false returns once the EtcdBackup is created', async (t) => {
  const r = await etcdPlugin('backup', 'demo', '--like', first.backup, '--wait=false');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^etcdbackup\.etcd\.io\/demo-[a-z0-9]{5} created\n$/);
  const name = r.stdout.split('/')[1]!.split(' ')[0]!;
  const done = await eventually(
    `${name} to be taken by the operator`,
    async () => {
      const b = await client.get(EtcdBackups, { namespace: NS, name });
      return b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed' ? b : undefined;
    },
    180_000,
  );
  t.equal(done.status?.phase, 'Succeeded');
  t.same(done.spec.storage, { volume: { claimName: 'snapshots', path: '/' } }, '--like copies the storage');
});

await t.test('refused credentials fail the run, exit 6, and no key is printed', async (t) => {
  const r = await etcdPlugin(
    'backup',
    'demo',
    ...S3_FLAGS,
    '--credentials-secret=wrong-credentials',
    '--name=refused',
  );
  t.equal(r.code, EXIT.forbidden, r.stderr);
  t.match(
    r.stderr,
    /\nerror: etcdbackup\.etcd\.io\/refused failed \(CredentialsRefused\): .+; the operator retries it with backoff\n$/,
  );
  const list = await etcdPlugin('backup', 'list', 'demo');
  t.equal(list.code, 0, list.stderr);
  t.match(
    list.stderr,
    /^warning: s3:\/\/backups\/etcd\/ not read \(.+\): showing what refused's status records\n$/,
  );
  t.match(list.stdout, /\ndemo {6}refused {6}Failed {6}<none> /);
  await client.delete(EtcdBackups, { namespace: NS, name: 'refused' });
});

await t.test('a cluster that does not exist is one line and exit 4', async (t) => {
  const r = await etcdPlugin('backup', 'nope', '--to', 'pvc://snapshots');
  t.equal(r.code, EXIT.notFound);
  t.equal(r.stderr, 'error: no etcd cluster "nope" in namespace "default" (clusters there: demo)\n');
  t.equal(r.stdout, '');
  const list = await etcdPlugin('backup', 'list', 'nope');
  t.equal(list.code, EXIT.notFound);
  t.equal(list.stderr, 'error: no etcd cluster "nope" in namespace "default" (clusters there: demo)\n');
  const bad = await etcdPlugin('backup', 'demo', '--to', 'ftp://x');
  t.equal(bad.code, EXIT.usage);
  t.match(bad.stderr, /^error: --to "ftp:\/\/x" is not a location: .+\n$/);
});

await t.test('Ctrl-C stops following and leaves the backup to the operator; --timeout exits 2', async (t) => {
  const running = kubectl.start(['etcd', 'backup', 'idle', '-n', IDLE_NS, '--to', 'pvc://snapshots']);
  running.child.stdin.end();
  await running.waitForStderr(/idle-[a-z0-9]{5}: Pending, waiting for the operator\n/);
  running.child.kill('SIGINT');
  const r = await running.exited;
  printed.push(r);
  t.equal(r.code, EXIT.interrupted, r.stderr);
  t.match(
    r.stderr,
    /\nerror: stopped following; the operator goes on with etcdbackup\.etcd\.io\/idle-[a-z0-9]{5} \(kubectl etcd backup list idle shows how it ends\)\n$/,
  );
  const left = await client.list(EtcdBackups, { namespace: IDLE_NS });
  t.equal(left.items.length, 1, 'the EtcdBackup stays');

  const timedOut = await etcdPlugin(
    'backup',
    'idle',
    '-n',
    IDLE_NS,
    '--like',
    left.items[0]!.metadata.name!,
    '--timeout',
    '2s',
  );
  t.equal(timedOut.code, EXIT.unavailable);
  t.match(
    timedOut.stderr,
    /\nerror: etcdbackup\.etcd\.io\/idle-\S+ did not finish within 2s \(idle-\S+: Pending, waiting for the operator\)\n$/,
  );
  const pending = await etcdPlugin('backup', 'list', '-n', IDLE_NS);
  t.match(pending.stdout, /\nidle {6}idle-[a-z0-9]{5} {3}<none> /, 'listed with no snapshot yet');
});

await t.test('no Secret value appears in anything the plugin printed', async (t) => {
  t.ok(printed.length > 15, `${printed.length} runs`);
  for (const secret of [s3.secretAccessKey, BAD_SECRET, s3.accessKeyId]) {
    t.notOk(
      printed.some((r) => r.stdout.includes(secret) || r.stderr.includes(secret)),
      `${secret === s3.accessKeyId ? 'the access key id' : 'a secret key'} is never printed`,
    );
  }
});

await t.test('the sandbox stops leaving nothing behind', async (t) => {
  await expectNothingLeft(t, sandbox);
});
