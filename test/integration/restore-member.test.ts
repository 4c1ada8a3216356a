/**
 * `etcd-operator restore-member`, the restore agent, bundled as the image carries it and run as an
 * init container would run it: it makes a data directory etcd starts from with the backup's keys,
 * does nothing the second time, refuses a snapshot that is not the pinned one (leaving nothing
 * behind), and reads credentials from its environment only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import t from 'tap';
import { bundle } from '../../hack/bundle.js';
import { createVolumeStore } from '../../lib/backup/volume-store.js';
import { credentialsFromEnvironment } from '../../lib/backup/restore-credentials.js';
import { readSecretData } from '../../lib/backup/stores.js';
import { createEtcdAdmin, freePort, startLocalEtcd } from '../../lib/etcd/index.js';
import { linkVersionedEtcdBinaries } from '../../sandbox/binaries.js';
import { fillKeyspace, startSourceEtcd, writeBackup } from '../helpers/backup-source.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = t.testdir({ image: { 'package.json': '{ "type": "commonjs" }' }, claims: {}, member: {} });
await bundle(join(root, 'operator/main.ts'), join(dir, 'image', 'etcd-operator'));
const tools = linkVersionedEtcdBinaries(join(dir, 'tools'));

const { source, kv, admin } = await startSourceEtcd(t, '3.5');
const expected = await fillKeyspace(kv, 500);
const claim = join(dir, 'claims', 'ns', 'backups');
const store = createVolumeStore({ root: join(claim, 'etcd'), description: 'volume backups:/etcd' });
const backup = await writeBackup(store, admin, source.clientURL, {
  cluster: 'src',
  namespace: 'ns',
  etcdVersion: source.binaries.version,
});

const dataDir = join(dir, 'member', 'data');
const peerPort = await freePort();
const peerURL = `http://127.0.0.1:${peerPort}`;
const agent = (overrides: Record<string, string> = {}) => {
  const flags: Record<string, string> = {
    'data-dir': dataDir,
    name: 'm0',
    'initial-cluster': `m0=${peerURL}`,
    'initial-cluster-token': 'new-cluster-uid',
    'initial-advertise-peer-urls': peerURL,
    'etcd-version': '3.5.9',
    namespace: 'ns',
    storage: JSON.stringify({ volume: { claimName: 'backups', path: '/etcd' } }),
    snapshot: backup.snapshot,
    sha256: backup.manifest.sha256,
    size: String(backup.manifest.size),
    'claim-root': join(dir, 'claims'),
    ...overrides,
  };
  const args = Object.entries(flags)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `--${k}=${v}`);
  return spawnSync(process.execPath, [join(dir, 'image', 'etcd-operator'), 'restore-member', ...args], {
    env: { PATH: tools },
    encoding: 'utf8',
  });
};
const leftovers = () => readdirSync(join(dir, 'member')).filter((f) => f !== 'data');

t.test('a pinned snapshot that does not match is refused, leaving nothing', async (t) => {
  const wrong = agent({ sha256: 'f'.repeat(64) });
  t.equal(wrong.status, 1, 'exit 1');
  t.match(
    wrong.stderr,
    new RegExp(
      `snapshot ${backup.snapshot.replaceAll('.', '\\.')} has sha256 .*, its manifest says ffffffffffffffff…`,
    ),
  );
  t.notOk(existsSync(dataDir), 'no data directory');
  t.same(leftovers(), [], 'no download, no staging directory');
  const usage = agent({ name: '' });
  t.equal(usage.status, 3, 'a missing flag is a usage error');
});

t.test('the data directory is made from the snapshot, and etcd starts from it', async (t) => {
  const started = Date.now();
  const first = agent();
  t.equal(first.status, 0, `exit 0 ${first.stderr}`);
  t.comment(`restored in ${Date.now() - started} ms`);
  t.ok(statSync(join(dataDir, 'member')).isDirectory(), 'a member directory');
  t.same(leftovers(), [], 'the download and the staging directory are gone');
  t.match(first.stdout, /"msg":"restored the data directory"/, 'JSON logs on stdout');
  t.notMatch(first.stdout, /sha256":/, 'the logs do not repeat the arguments');

  const etcd = await startLocalEtcd({
    etcd: source.binaries.etcd,
    version: '3.5',
    dataDir,
    name: 'm0',
    peerPort,
  });
  const restored = new Etcd3({ hosts: etcd.clientURL });
  t.teardown(async () => {
    restored.close();
    await etcd.stop();
  });
  const got = await restored.getAll().prefix('/data/').strings();
  t.equal(Object.keys(got).length, expected.size, `${expected.size} keys`);
  t.same(new Map(Object.entries(got)), expected, 'every value');
  const restoredAdmin = createEtcdAdmin({ endpoints: [etcd.clientURL] });
  t.teardown(() => restoredAdmin.close());
  t.not(
    (await restoredAdmin.status(etcd.clientURL)).clusterId,
    backup.manifest.clusterID,
    'a new cluster ID',
  );
});

t.test('run again over a member, it does nothing', async (t) => {
  const before = statSync(join(dataDir, 'member', 'snap', 'db')).mtimeMs;
  const again = agent();
  t.equal(again.status, 0);
  t.match(again.stdout, /already holds a member/);
  t.equal(statSync(join(dataDir, 'member', 'snap', 'db')).mtimeMs, before, 'the data is untouched');
});

t.test('credentials come from the environment, for the Secret the location names', async (t) => {
  const location = { s3: { bucket: 'b', forcePathStyle: false, credentialsSecret: { name: 'creds' } } };
  const kube = credentialsFromEnvironment(location, 'ns', {
    ETCD_RESTORE_CREDENTIAL_ACCESS_KEY_ID: 'AKIA',
    ETCD_RESTORE_CREDENTIAL_SECRET_ACCESS_KEY: 'shh',
  });
  t.same(await readSecretData({ kube, namespace: 'ns' }, 'creds'), {
    accessKeyId: 'AKIA',
    secretAccessKey: 'shh',
  });
  await t.rejects(readSecretData({ kube, namespace: 'ns' }, 'other'), { name: 'NotFoundError' });
});
