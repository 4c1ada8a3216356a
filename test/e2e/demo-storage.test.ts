/**
 * `npm run demo -- --with-storage`, as a new user runs it: the demo comes up, and the commands it
 * prints, run as printed from the repository (bin/ built by `npm run build`), back the demo cluster
 * up to S3 and to GCS, list both, and restore the S3 backup into a new cluster that holds the key
 * written before the backup. Ctrl-C then stops everything: the demo's directory, its etcd members
 * and its storage servers are gone.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import t from 'tap';
import { etcdClient } from '../helpers/etcd-client.js';
import { descendants, startScript, stillRunning } from '../helpers/processes.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
// A 3-member cluster, two backups and a 3-member restore, one after another.
t.setTimeout(600_000);

const demo = startScript(t, 'sandbox/demo.ts', ['--with-storage']);
await demo.printed('Press Ctrl-C to stop.');
const stdout = demo.stdout();
const kubeconfig = /^kubeconfig: (\S+)$/m.exec(stdout)![1]!;
const storageLine = /^ {2}S3 at (http:\/\/\S+), GCS at (http:\/\/\S+)$/m.exec(stdout);
const block = stdout.split('(from this directory, after npm run build):\n')[1] ?? '';
const commands = block
  .split('\n\n')[0]!
  .split('\n')
  .map((line) => line.trim())
  .filter(Boolean);

await t.test('the demo names its storage servers and the commands to try them', async (t) => {
  t.ok(storageLine, `an S3 and a GCS endpoint: ${stdout}`);
  t.match(commands, [
    /kubectl etcd backup demo --name demo-s3 --to s3:\/\/backups\/demo /,
    /kubectl etcd backup demo --name demo-gcs --to gs:\/\/backups\/demo /,
    /kubectl etcd backup list demo$/,
    /^kubectl apply -f \S+restore\.yaml$/,
    /^kubectl wait /,
    /kubectl etcd status demo-restored$/,
  ]);
});

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfig);

const shell = (command: string) =>
  run('bash', ['-c', command], {
    cwd: root,
    env: { ...process.env, KUBECONFIG: kubeconfig },
    timeout: 240_000,
  });

await t.test('the printed commands back up, list and restore, as printed', async (t) => {
  const [toS3, toGcs, list, apply, wait, status] = commands;
  const etcd = await etcdClient(kubeConfig, 'default', 'demo');
  await etcd.put('written-before-the-backup').value('still here');
  etcd.close();
  const s3 = await shell(toS3!);
  t.match(s3.stdout, /demo-s3 +Succeeded/, 'the S3 backup succeeded');
  const gcs = await shell(toGcs!);
  t.match(gcs.stdout, /demo-gcs +Succeeded/, 'the GCS backup succeeded');
  const listed = await shell(list!);
  t.match(listed.stdout, /demo-s3 .*s3:\/\/backups\/demo\//, 'list shows the S3 snapshot');
  t.match(listed.stdout, /demo-gcs .*gs:\/\/backups\/demo\//, 'and the GCS one');
  t.match((await shell(apply!)).stdout, /etcdcluster\.etcd\.io\/demo-restored created/);
  await shell(wait!);
  const restored = await shell(status!);
  t.equal(
    restored.stdout.split('\n').filter((l) => /\sdemo-restored-\d\s/.test(l)).length,
    3,
    restored.stdout,
  );
  const client = await etcdClient(kubeConfig, 'default', 'demo-restored');
  t.teardown(() => client.close());
  t.equal(await client.get('written-before-the-backup').string(), 'still here', 'the key came back');
});

await t.test('Ctrl-C stops everything and leaves nothing', async (t) => {
  const started = await descendants(demo.child.pid!);
  t.ok(
    started.some((p) => p.args.includes('versitygw')),
    'the S3 server ran under the demo',
  );
  t.ok(
    started.some((p) => /\betcd --/.test(p.args)),
    'and etcd members',
  );
  demo.child.kill('SIGINT');
  t.equal(await demo.exited, 0, demo.stderr());
  t.match(demo.stdout(), /stopped; nothing left behind\.\n$/);
  t.notOk(existsSync(dirname(kubeconfig)), 'the demo directory is gone');
  t.same(await stillRunning(started), [], 'none of its etcd members and storage servers runs on');
});
