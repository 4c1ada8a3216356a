/**
 * The etcd-operator command line, bundled as `npm run build` bundles bin/etcd-operator: flags and
 * their ETCD_OPERATOR_* equivalents, where the Kubernetes configuration comes from, and a run
 * against the sandbox API server with probes, metrics, a lease and a graceful SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { bundle } from '../../hack/bundle.js';
import { UsageError } from '../../lib/errors.js';
import { Leases } from '../../lib/kube/index.js';
import { resolveKubeConfig } from '../../operator/kubeconfig.js';
import { crds } from '../../generated/crds.js';
import { createNamespace, startKubeSandbox, waitFor } from '../helpers/kube-sandbox.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const binDir = t.testdir({ 'package.json': '{ "type": "commonjs" }' });
await bundle(join(root, 'operator/main.ts'), join(binDir, 'etcd-operator'));
const ENTRY = [join(binDir, 'etcd-operator')];

/** The environment of a process that has no Kubernetes configuration anywhere. */
function bareEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, ...extra };
  return env;
}

t.test('--help documents every flag and the environment variables', async (t) => {
  const home = t.testdir();
  const help = spawnSync(process.execPath, [...ENTRY, '--help'], { env: bareEnv(home), encoding: 'utf8' });
  t.equal(help.status, 0);
  for (const flag of [
    'kubeconfig',
    'namespaces',
    'leader-elect',
    'leader-election-id',
    'leader-election-namespace',
    'health-addr',
    'metrics-addr',
    'log-level',
    'concurrency',
  ]) {
    t.match(help.stdout, new RegExp(`--${flag} `), `--${flag}`);
  }
  t.match(help.stdout, /ETCD_OPERATOR_/);
});

t.test(
  'bad input is a usage error (exit 3) with one line on stderr, from a flag or its variable',
  async (t) => {
    const home = t.testdir();
    const run = (args: string[], extra: Record<string, string> = {}) =>
      spawnSync(process.execPath, [...ENTRY, ...args], { env: bareEnv(home, extra), encoding: 'utf8' });
    const unknown = run(['--frobnicate']);
    t.equal(unknown.status, 3);
    t.equal(unknown.stderr, 'error: Unknown argument: frobnicate\n');
    const fromEnv = run([], { ETCD_OPERATOR_CONCURRENCY: '0' });
    t.equal(fromEnv.status, 3);
    t.equal(fromEnv.stderr, 'error: --concurrency must be a whole number of at least 1, not 0\n');
    const order = run(['--lease-duration=5s', '--renew-deadline=10s']);
    t.equal(order.status, 3);
    t.match(order.stderr, /--retry-period < --renew-deadline < --lease-duration/);
    const address = run(['--metrics-addr=nowhere']);
    t.match(address.stderr, /--metrics-addr must be \[host\]:port or 0/);
  },
);

t.test('with no Kubernetes configuration anywhere it says so instead of trying localhost:8080', async (t) => {
  const home = t.testdir();
  const res = spawnSync(process.execPath, [...ENTRY, '--health-addr=0', '--metrics-addr=0'], {
    env: bareEnv(home),
    encoding: 'utf8',
  });
  t.equal(res.status, 3);
  t.match(res.stderr, /^error: no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a pod/);
  t.notMatch(res.stdout + res.stderr, /localhost:8080/);
});

t.test(
  'the kubeconfig comes from --kubeconfig, else $KUBECONFIG, else the service account, else ~/.kube/config',
  async (t) => {
    const kubeconfig = (server: string) =>
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"}}]\n` +
      `users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;
    const dir = t.testdir({
      'flag.yaml': kubeconfig('https://flag:6443'),
      'env.yaml': kubeconfig('https://env:6443'),
      home: { '.kube': { config: kubeconfig('https://home:6443') } },
      pod: {
        var: {
          run: {
            secrets: {
              'kubernetes.io': { serviceaccount: { token: 'abc', 'ca.crt': '', namespace: 'ops\n' } },
            },
          },
        },
      },
      empty: {},
    });
    const server = (r: ReturnType<typeof resolveKubeConfig>) => r.kubeConfig.getCurrentCluster()?.server;
    const home = join(dir, 'home');
    const env = { KUBECONFIG: join(dir, 'env.yaml') };
    t.equal(server(resolveKubeConfig(join(dir, 'flag.yaml'), env, { home })), 'https://flag:6443');
    t.equal(server(resolveKubeConfig(undefined, env, { home })), 'https://env:6443');
    t.equal(server(resolveKubeConfig(undefined, {}, { home })), 'https://home:6443');
    t.throws(
      () => resolveKubeConfig(join(dir, 'missing.yaml'), {}, { home }),
      UsageError,
      'a named file must exist',
    );

    // client-node's loadFromCluster reads the service host and port from process.env itself.
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    t.teardown(() => {
      for (const [key, value] of [
        ['KUBERNETES_SERVICE_HOST', saved.host],
        ['KUBERNETES_SERVICE_PORT', saved.port],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    process.env.KUBERNETES_SERVICE_HOST = '10.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    const pod = resolveKubeConfig(undefined, process.env, { root: join(dir, 'pod'), home });
    t.equal(server(pod), 'https://10.0.0.1:443');
    t.equal(pod.podNamespace, 'ops');
    t.throws(() => resolveKubeConfig(undefined, {}, { root: join(dir, 'empty'), home: join(dir, 'empty') }), {
      name: 'UsageError',
      message: /^no Kubernetes configuration/,
    });
  },
);

t.test(
  'against the sandbox: probes, metrics, the lease, and SIGTERM exits 0 after handing it back',
  async (t) => {
    const sandbox = await startKubeSandbox(t, [], { crds });
    const admin = sandbox.client();
    await createNamespace(admin, 'ops');
    const dir = t.testdir();
    mkdirSync(join(dir, 'home'));
    const kubeconfig = join(dir, 'kubeconfig');
    sandbox.server.writeKubeconfig(kubeconfig);
    writeFileSync(join(dir, 'unused'), '');
    const child = spawn(
      process.execPath,
      [...ENTRY, '--health-addr=127.0.0.1:0', '--metrics-addr=127.0.0.2:0'],
      {
        env: bareEnv(join(dir, 'home'), {
          KUBECONFIG: kubeconfig,
          ETCD_OPERATOR_LEADER_ELECT: 'true',
          ETCD_OPERATOR_LEADER_ELECTION_NAMESPACE: 'ops',
          ETCD_OPERATOR_LEADER_ELECTION_ID: 'cli-test',
          ETCD_OPERATOR_NAMESPACES: 'ops,other',
        }),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    t.teardown(() => {
      child.kill('SIGKILL');
      return exited;
    });
    const logs: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (line) =>
      logs.push(JSON.parse(line) as Record<string, unknown>),
    );
    const ports = await waitFor(
      'the endpoints',
      () => logs.find((l) => l.msg === 'serving probes and metrics')?.ports as number[] | undefined,
    );
    t.match(logs[0], {
      level: 'info',
      component: 'etcd-operator',
      msg: 'starting',
      namespaces: ['ops', 'other'],
    });
    const [health, metrics] = ports;
    await waitFor('leadership', () => logs.find((l) => l.msg === 'acquired the lease: leading'));
    const get = (host: string, port: number | undefined, path: string) =>
      fetch(`http://${host}:${port}${path}`).then(async (r) => ({ status: r.status, body: await r.text() }));
    t.same(await get('127.0.0.1', health, '/healthz'), { status: 200, body: 'ok\n' });
    t.same(await get('127.0.0.1', health, '/readyz'), { status: 200, body: 'ok\n' });
    t.equal((await get('127.0.0.1', health, '/metrics')).status, 404, 'metrics live on their own address');
    const scrape = await get('127.0.0.2', metrics, '/metrics');
    t.match(scrape.body, /^leader_election_master_status\{name="cli-test"\} 1$/m);
    t.match(scrape.body, /^process_cpu_user_seconds_total /m, 'process metrics too');
    t.match(scrape.body, /^# HELP controller_runtime_reconcile_total /m);
    t.match(scrape.body, /^# HELP workqueue_depth /m);
    t.match(scrape.body, /^# HELP informer_watch_restarts_total /m);
    const lease = await admin.get(Leases, { namespace: 'ops', name: 'cli-test' });
    t.match(lease.spec?.holderIdentity, /^.+_[0-9a-f-]{36}$/, 'held under a hostname_uuid identity');

    child.kill('SIGTERM');
    t.equal(await exited, 0, 'SIGTERM exits 0');
    const released = await admin.get(Leases, { namespace: 'ops', name: 'cli-test' });
    t.equal(released.spec?.holderIdentity, '', 'and hands the lease back');
    t.same(
      logs.slice(-3).map((l) => l.msg),
      ['stopping: finishing the reconciles in flight', 'released the lease', 'stopped'],
    );
  },
);
