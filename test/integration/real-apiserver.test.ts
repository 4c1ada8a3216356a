/**
 * startRealApiServer(): the contract it shares with the sandbox's startApiServer() (URL, CA, users and
 * tokens, kubeconfig, stop) and what the controller manager beside it adds.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { NotFoundError } from '../../lib/errors.js';
import {
  findKubeBinary,
  processesMentioning,
  reapOrphans,
  request,
  startRealApiServer,
  type RealApiServer,
} from '../../sandbox/real/index.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Polls `check` until it is true; false after 60 s (a bound on waiting, not a speed assertion). */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
    if (await check()) return true;
  }
  return false;
}

const server = await startRealApiServer({
  users: { dev: { groups: ['developers'] }, ops: { token: 'ops-token' } },
});
t.teardown(() => server.stop());
const as = (user: string | undefined, path: string, init: { method?: string; body?: unknown } = {}) =>
  request(server.url, server.caCert, {
    ...init,
    path,
    ...(user === undefined ? {} : { token: server.token(user) }),
  });

t.test('it serves HTTPS on loopback with a certificate its caCert verifies', async (t) => {
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.match(server.caCert, /^-----BEGIN CERTIFICATE-----/);
  t.match(server.version, /^v1\.\d+\.\d+$/);
  const version = await as(undefined, '/version');
  t.equal(version.status, 200);
  t.equal((version.body as { gitVersion: string }).gitVersion, server.version);
  await t.rejects(
    request(server.url, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', { path: '/version' }),
    'another CA is not trusted',
  );
});

t.test('it is ready when it returns: the default namespace exists', async (t) => {
  const res = await as('admin', '/api/v1/namespaces/default');
  t.equal(res.status, 200);
  t.equal((res.body as { status: { phase: string } }).status.phase, 'Active');
});

t.test('the API groups the operator uses are served', async (t) => {
  const groups = ((await as('admin', '/apis')).body as { groups: { name: string }[] }).groups.map(
    (g) => g.name,
  );
  for (const group of [
    'coordination.k8s.io',
    'policy',
    'batch',
    'rbac.authorization.k8s.io',
    'apiextensions.k8s.io',
    'events.k8s.io',
  ]) {
    t.ok(groups.includes(group), group);
  }
});

t.test('users authenticate with their tokens and RBAC authorizes them', async (t) => {
  t.equal(server.token('ops'), 'ops-token', 'a given token is kept');
  t.match(server.token('dev'), /^[0-9a-f]{48}$/, 'a missing token is generated');
  t.throws(() => server.token('nobody'), NotFoundError);
  t.equal(
    (await as('admin', '/api/v1/namespaces/default/configmaps')).status,
    200,
    'admin is in system:masters',
  );
  t.equal((await as('dev', '/api/v1/namespaces/default/configmaps')).status, 403, 'dev has no role yet');
  const unknown = await request(server.url, server.caCert, { path: '/api/v1/namespaces', token: 'wrong' });
  t.equal(unknown.status, 401);

  const review = await as('dev', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    method: 'POST',
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  const { userInfo } = (review.body as { status: { userInfo: { username: string; groups: string[] } } })
    .status;
  t.equal(userInfo.username, 'dev');
  t.strictSame(
    userInfo.groups,
    ['developers', 'system:authenticated'],
    'the groups asked for, from the token file',
  );
  t.equal(
    (
      await as('admin', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
        method: 'POST',
        body: {
          metadata: { name: 'developers-view' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
        },
      })
    ).status,
    201,
  );
  t.ok(
    await eventually(async () => (await as('dev', '/api/v1/namespaces/default/configmaps')).status === 200),
    'dev reads configmaps once its group is bound to view',
  );
});

t.test('kubeconfig(user) works with the real kubectl', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'kubeconfig');
  server.writeKubeconfig(file, 'admin');
  const config = parse(readFileSync(file, 'utf8')) as {
    clusters: { cluster: { server: string } }[];
    users: { user: { token: string } }[];
  };
  t.equal(config.clusters[0]?.cluster.server, server.url);
  t.equal(config.users[0]?.user.token, server.token('admin'));
  t.equal(server.kubeconfig('admin'), readFileSync(file, 'utf8'));
  const { stdout } = await run('kubectl', [
    '--kubeconfig',
    file,
    '--cache-dir',
    join(dir, 'cache'),
    'get',
    'namespace',
    'default',
    '-o',
    'name',
  ]);
  t.equal(stdout.trim(), 'namespace/default');
});

t.test('a real server has no request log and no fault injector', async (t) => {
  t.equal(server.requests, undefined);
  t.equal(server.faults, undefined);
});

t.test('the controller manager collects garbage and finalizes namespaces', async (t) => {
  const ns = 'gc-test';
  t.equal(
    (await as('admin', '/api/v1/namespaces', { method: 'POST', body: { metadata: { name: ns } } })).status,
    201,
  );
  t.ok(
    await eventually(
      async () => (await as('admin', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200,
    ),
    'the default ServiceAccount appears in a new namespace',
  );

  const owner = (
    await as('admin', `/api/v1/namespaces/${ns}/configmaps`, {
      method: 'POST',
      body: { metadata: { name: 'owner' } },
    })
  ).body as { metadata: { uid: string } };
  const dependent = await as('admin', `/api/v1/namespaces/${ns}/configmaps`, {
    method: 'POST',
    body: {
      metadata: {
        name: 'dependent',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }],
      },
    },
  });
  t.equal(dependent.status, 201);
  t.equal((await as('admin', `/api/v1/namespaces/${ns}/configmaps/owner`, { method: 'DELETE' })).status, 200);
  t.ok(
    await eventually(
      async () => (await as('admin', `/api/v1/namespaces/${ns}/configmaps/dependent`)).status === 404,
    ),
    'the dependent is deleted with its owner',
  );

  t.equal((await as('admin', `/api/v1/namespaces/${ns}`, { method: 'DELETE' })).status, 200);
  t.ok(
    await eventually(async () => (await as('admin', `/api/v1/namespaces/${ns}`)).status === 404),
    'a deleted namespace goes away',
  );
});

t.test('stop() leaves no process and no directory behind', async (t) => {
  const other: RealApiServer = await startRealApiServer({ controllers: [] });
  t.equal(processesMentioning(other.dir).length, 2, 'etcd and kube-apiserver run from its directory');
  await other.stop();
  await other.stop();
  t.strictSame(processesMentioning(other.dir), [], 'no process');
  t.notOk(existsSync(other.dir), 'no directory');
  await t.rejects(request(other.url, other.caCert, { path: '/readyz' }), 'nothing listens any more');
});

/** Runs a Node process that starts a real server and prints its directory; resolves with both. */
async function ownerProcess(t: Test): Promise<{ child: ChildProcess; dir: string }> {
  const script = join(t.testdir(), 'owner.mts');
  writeFileSync(
    script,
    `import { startRealApiServer } from ${JSON.stringify(join(root, 'sandbox/real/index.ts'))};\n` +
      `const server = await startRealApiServer({ controllers: [] });\n` +
      `console.log(server.dir);\n` +
      `setInterval(() => {}, 1000);\n`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return { child, dir: line };
}

t.test('a SIGTERM to the owning process leaves nothing behind', async (t) => {
  const { child, dir } = await ownerProcess(t);
  t.equal(processesMentioning(dir).length, 2, 'etcd and kube-apiserver run');
  child.kill('SIGTERM');
  await once(child, 'exit');
  t.ok(await eventually(async () => processesMentioning(dir).length === 0), 'no process');
  t.notOk(existsSync(dir), 'no directory');
});

t.test('what a SIGKILLed owner left is reaped by the next start', async (t) => {
  const { child, dir } = await ownerProcess(t);
  child.kill('SIGKILL');
  await once(child, 'exit');
  t.equal(processesMentioning(dir).length, 2, 'etcd and kube-apiserver outlive their owner');
  t.ok(reapOrphans(tmpdir()).includes(dir), 'reaped');
  t.ok(await eventually(async () => processesMentioning(dir).length === 0), 'no process');
  t.notOk(existsSync(dir), 'no directory');
});

t.test('a missing binary fails with how to build it', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'empty-cache-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  t.throws(() => findKubeBinary('kube-apiserver', cache), {
    name: 'NotFoundError',
    message: /hack\/kube-binaries\.sh --only kube-apiserver/,
  });
  await t.rejects(startRealApiServer({ cache }), {
    name: 'NotFoundError',
    message: /hack\/kube-binaries\.sh --only kube-apiserver/,
  });
  t.strictSame(readdirSync(cache), [], 'nothing was created');
});
