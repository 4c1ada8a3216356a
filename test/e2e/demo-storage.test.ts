/**
 * `npm run demo -- --with-storage`, as a new user runs it: the demo comes up, and the commands it
 * prints, run as printed from the repository (bin/ built by `npm run build`), back the demo cluster
 * up to S3 and to GCS, list both, and restore the S3 backup into a new cluster that holds the key
 * written before the backup. Ctrl-C then stops everything: the demo's directory, its etcd members
 * and its storage servers are gone.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import t from 'tap';
import { etcdClient } from '../helpers/etcd-client.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
// A 3-member cluster, two backups and a 3-member restore, one after another.
t.setTimeout(600_000);

const demo = spawn(process.execPath, ['--import', 'tsx', 'sandbox/demo.ts', '--with-storage'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let stdout = '';
let stderr = '';
demo.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
demo.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
t.teardown(() => {
  if (demo.exitCode === null) demo.kill('SIGKILL');
});

const up = await new Promise<boolean>((resolve) => {
  demo.stdout.on('data', () => stdout.includes('Press Ctrl-C to stop.') && resolve(true));
  demo.once('exit', () => resolve(false));
});
if (!up) throw new Error(`the demo exited ${demo.exitCode}: ${stderr}`);
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
  // tsx's esbuild service is the loader's, and ends on its own once its parent has gone.
  const started = (await descendants(demo.pid!)).filter((p) => !p.args.includes('esbuild --service'));
  t.ok(
    started.some((p) => p.args.includes('versitygw')),
    'the S3 server ran under the demo',
  );
  t.ok(
    started.some((p) => /\betcd --/.test(p.args)),
    'and etcd members',
  );
  demo.kill('SIGINT');
  t.equal(await exited, 0, stderr);
  t.match(stdout, /stopped; nothing left behind\.\n$/);
  t.notOk(existsSync(dirname(kubeconfig)), 'the demo directory is gone');
  const alive = new Set((await processes()).map((p) => p.pid));
  t.same(
    started.filter((p) => alive.has(p.pid)).map((p) => p.args),
    [],
    'none of its etcd members and storage servers runs on',
  );
});

interface Process {
  pid: number;
  ppid: number;
  args: string;
}

async function processes(): Promise<Process[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,args=']);
  return stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
}

/** Every process under `pid`, children of children included. */
async function descendants(pid: number): Promise<Process[]> {
  const all = await processes();
  const found: Process[] = [];
  const parents = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}
