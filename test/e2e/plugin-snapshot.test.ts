/**
 * `kubectl etcd snapshot save` through the real kubectl: the file etcdutl accepts, which restores
 * into a fresh etcd holding the same keys; `snapshot status` agreeing with etcdutl; and Ctrl-C in
 * the middle of a transfer leaving no file behind and exiting 5.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { findEtcd } from '../../sandbox/binaries.js';
import { EXIT } from '../../plugin/exit-codes.js';
import { startEtcdCluster } from '../helpers/etcd-cluster.js';
import { startPluginCluster } from '../helpers/plugin.js';
import { expectNothingLeft } from '../helpers/sandbox.js';

const run = promisify(execFile);
const { sandbox, demo, kubectl, etcd } = await startPluginCluster(t);
const dir = t.testdir({});

interface EtcdutlStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

async function etcdutlStatus(version: string, file: string): Promise<EtcdutlStatus> {
  const { etcdutl } = findEtcd(version);
  const { stdout } = await run(etcdutl!, ['snapshot', 'status', file, '-w', 'json']);
  return JSON.parse(stdout) as EtcdutlStatus;
}

const client = await demo.client();
for (let i = 0; i < 200; i++) await client.put(`key-${i}`).value(`value-${i}`);
await client.delete().key('key-7');
await client.put('key-8').value('changed');

await t.test('snapshot save writes a file etcdutl accepts, and prints revision, size and hash', async (t) => {
  const file = join(dir, 'demo.db');
  const r = await etcd('snapshot', 'save', 'demo', file, '-o', 'json');
  t.equal(r.code, 0, r.stderr);
  const saved = JSON.parse(r.stdout) as {
    file: string;
    member: string;
    revision: number;
    size: number;
    sha256: string;
  };
  t.same(Object.keys(saved), ['file', 'member', 'revision', 'size', 'sha256']);
  t.notOk(existsSync(`${file}.part`), 'no .part left');
  t.equal(saved.size, readFileSync(file).length, 'the size printed is the file');
  const { createHash } = await import('node:crypto');
  t.equal(
    saved.sha256,
    createHash('sha256').update(readFileSync(file)).digest('hex'),
    'the hash printed is the file',
  );
  t.ok(saved.revision >= 202, `revision ${saved.revision} covers every write`);
  t.match(r.stderr, /^snapshot of demo-\d: \d+% /m, 'progress lines on stderr when it is not a terminal');
  const status = await etcdutlStatus('3.6', file);
  t.equal(status.revision, saved.revision, 'etcdutl reads the same revision');
  t.equal(status.totalKey, 199, 'etcdutl counts the live keys');

  const table = await etcd('snapshot', 'save', 'demo', file);
  t.match(
    table.stdout,
    new RegExp(
      `^FILE {2,}MEMBER {3}REVISION {3}SIZE {3,}SHA256\\n${file.replace(/[/.]/g, '\\$&')} {3}demo-\\d {3}\\d+ +\\d+(\\.\\d)?Ki {3}[0-9a-f]{64}\\n$`,
    ),
  );
});

await t.test('snapshot status agrees with etcdutl 3.5 and 3.6', async (t) => {
  const file = join(dir, 'demo.db');
  const r = await etcd('snapshot', 'status', file, '-o', 'json');
  t.equal(r.code, 0, r.stderr);
  const ours = JSON.parse(r.stdout) as {
    hash: string;
    revision: number;
    totalKeys: number;
    totalSize: number;
    digest: string;
  };
  const [v35, v36] = [await etcdutlStatus('3.5', file), await etcdutlStatus('3.6', file)];
  t.equal(ours.hash, v36.hash.toString(16).padStart(8, '0'), 'the CRC-32C hash etcdutl prints');
  t.equal(v35.hash, v36.hash);
  t.equal(ours.revision, v36.revision);
  t.equal(ours.totalKeys, v36.totalKey, 'live keys, as etcdutl 3.6 counts them');
  t.equal(ours.totalSize, v36.totalSize);
  t.equal(ours.digest, 'verified');
  const table = await etcd('snapshot', 'status', file);
  t.match(
    table.stdout,
    /^HASH {7}REVISION {3}TOTAL KEYS {3}TOTAL SIZE {3}VERSION {3}DIGEST\n[0-9a-f]{8} {3}\d+ +199 +\d+Ki +<none> +verified\n$/,
  );
});

await t.test('a damaged snapshot fails its check: one line, exit 1; a missing one exits 4', async (t) => {
  const damaged = join(dir, 'damaged.db');
  const bytes = readFileSync(join(dir, 'demo.db'));
  bytes[4096 + 100] = (bytes[4096 + 100] ?? 0) ^ 0xff;
  writeFileSync(damaged, bytes);
  const r = await etcd('snapshot', 'status', damaged);
  t.equal(r.code, EXIT.error);
  t.equal(r.stderr, `error: ${damaged}: the SHA-256 digest at its end does not match its content\n`);
  const missing = await etcd('snapshot', 'status', join(dir, 'none.db'));
  t.equal(missing.code, EXIT.notFound);
  t.match(missing.stderr, /^error: .*none\.db: no such file\n$/);
});

await t.test('the snapshot restores into a fresh etcd that holds the same keys', async (t) => {
  const restored = await startEtcdCluster(t, { version: '3.5', size: 1, restoreFrom: join(dir, 'demo.db') });
  const kv = restored.kv();
  const keys = await kv.getAll().prefix('key-').strings();
  t.equal(Object.keys(keys).length, 199);
  t.equal(keys['key-8'], 'changed');
  t.equal(keys['key-7'], undefined, 'the deleted key stays deleted');
  t.equal(keys['key-199'], 'value-199');
});

await t.test('Ctrl-C during a transfer leaves no file and exits 5', async (t) => {
  const big = Buffer.alloc(1 << 20, 'x');
  for (let i = 0; i < 48; i++) await client.put(`big-${i}`).value(big);
  const file = join(dir, 'interrupted.db');
  const running = kubectl.start(['etcd', 'snapshot', 'save', 'demo', file]);
  running.child.stdin.end();
  await running.waitForStderr(/snapshot of demo-\d: \d+%/);
  running.child.kill('SIGINT');
  const r = await running.exited;
  t.equal(r.code, EXIT.interrupted, r.stderr);
  t.match(
    r.stderr,
    /error: snapshot of member demo-\d \(pod default\/demo-\d\) interrupted; nothing was written\n$/,
  );
  t.notOk(existsSync(file), 'no snapshot file');
  t.notOk(existsSync(`${file}.part`), 'no partial file');
});

await t.test('the sandbox stops leaving nothing behind', async (t) => {
  await expectNothingLeft(t, sandbox);
});
