/**
 * `npm run sandbox`, as a user runs it: the API server and the pod runtime together, so that the
 * kubectl commands it prints run a real etcd in a pod and exec into it; Ctrl-C removes its
 * temporary kubeconfig and leaves no process behind. `--no-pods` is the API server alone: a pod is
 * stored, never run, and exec says why.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { descendants, startScript, stillRunning } from '../helpers/processes.js';
import { eventually } from '../helpers/sandbox.js';

const run = promisify(execFile);

function kubectlWith(kubeconfig: string) {
  return (...args: string[]) =>
    run('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig } }).catch(
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
        code: err.code,
      }),
    );
}

await t.test('npm run sandbox: the printed commands run an etcd pod and exec into it', async (t) => {
  const sandbox = startScript(t, 'sandbox/cli.ts');
  await sandbox.printed('Press Ctrl-C to stop.');
  const out = sandbox.stdout();
  t.match(out, /^sandbox API server at https:\/\/127\.0\.0\.1:\d+, with a pod runtime$/m);
  const kubeconfig = /^kubeconfig: (\S+)$/m.exec(out)![1]!;
  t.match(out, `  export KUBECONFIG=${kubeconfig}\n`);
  const commands = out
    .split('\n')
    .filter((l) => l.startsWith('  kubectl '))
    .map((l) => l.trim().split(' ').slice(1));
  t.equal(commands.length, 3, 'three commands to try');
  const kubectl = kubectlWith(kubeconfig);
  const [nodes, runPod, exec] = commands;
  t.match((await kubectl(...nodes!)).stdout, /^sandbox\s/m, 'the runtime registered its Node');
  t.match((await kubectl(...runPod!)).stdout, 'pod/etcd created');
  await eventually('the pod to run', async () => {
    const { stdout } = await kubectl('get', 'pod', 'etcd', '-o', 'jsonpath={.status.phase}');
    return stdout === 'Running' ? true : undefined;
  });
  const status = await eventually('etcd to answer in the pod', async () => {
    const r = await kubectl(...exec!);
    return /127\.0\.0\.1:2379 \|/.test(r.stdout) ? r.stdout : undefined;
  });
  t.match(status, /\| +3\.5\.\d+ \|/, 'a real etcd 3.5 answered');

  const started = await descendants(sandbox.child.pid!);
  t.ok(
    started.some((p) => /\betcd\b/.test(p.args)),
    'the pod’s etcd ran under the sandbox',
  );
  sandbox.child.kill('SIGINT');
  t.equal(await sandbox.exited, 0, sandbox.stderr());
  t.notOk(existsSync(dirname(kubeconfig)), 'the temporary kubeconfig is gone');
  t.same(await stillRunning(started), [], 'nothing it started runs on');
});

await t.test('npm run sandbox -- --no-pods: pods are stored and never run', async (t) => {
  const sandbox = startScript(t, 'sandbox/cli.ts', ['--no-pods']);
  await sandbox.printed('Press Ctrl-C to stop.');
  t.match(sandbox.stdout(), /, without a pod runtime: pods never run$/m);
  const kubectl = kubectlWith(/^kubeconfig: (\S+)$/m.exec(sandbox.stdout())![1]!);
  t.match((await kubectl('run', 'etcd', '--image=registry.k8s.io/etcd:3.5.21-0')).stdout, 'pod/etcd created');
  const phase = await kubectl('get', 'pod', 'etcd', '-o', 'jsonpath={.status.phase}');
  t.not(phase.stdout, 'Running');
  const exec = await kubectl('exec', 'etcd', '--', 'true');
  t.match(exec.stderr, 'no pod backend is attached to this sandbox API server');
  sandbox.child.kill('SIGINT');
  t.equal(await sandbox.exited, 0, sandbox.stderr());
});

await t.test('a bad argument is refused in one line, with the usage', async (t) => {
  const sandbox = startScript(t, 'sandbox/cli.ts', ['--port', 'eighty']);
  t.equal(await sandbox.exited, 2);
  t.match(sandbox.stderr(), /^--port eighty: not a port number\nusage: npm run sandbox/);
});
