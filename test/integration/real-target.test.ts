/**
 * The TEST_APISERVER switch: which server each value starts, how `real` fails when it cannot run, and
 * the pod runtime attached as the node of either.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import t from 'tap';
import { crds } from '../../generated/crds.js';
import { UsageError } from '../../lib/errors.js';
import { processesMentioning } from '../../sandbox/real/index.js';
import {
  apiServerTarget,
  startTargetApiServer,
  startTargetSandbox,
  type TargetApiServer,
} from '../helpers/apiserver-target.js';

t.test('TEST_APISERVER picks the target; unset means the sandbox', async (t) => {
  t.equal(apiServerTarget({}), 'sandbox');
  t.equal(apiServerTarget({ TEST_APISERVER: 'sandbox' }), 'sandbox');
  t.equal(apiServerTarget({ TEST_APISERVER: 'real' }), 'real');
  t.throws(() => apiServerTarget({ TEST_APISERVER: 'kind' }), UsageError);
});

/** What a test does with either server: client-node through its kubeconfig, on a built-in kind and a CRD. */
async function roundTrip(server: TargetApiServer): Promise<{ data: unknown; etcdclusters: unknown[] }> {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: 'switch' }, data: { a: 'b' } },
  });
  const { data } = await core.readNamespacedConfigMap({ namespace: 'default', name: 'switch' });
  const list = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
    group: 'etcd.io',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'etcdclusters',
  })) as { items: unknown[] };
  return { data, etcdclusters: list.items };
}

t.test('sandbox: the emulator, with its request log and faults', async (t) => {
  const server = await startTargetApiServer(t, { crds }, { TEST_APISERVER: 'sandbox' });
  t.equal(server.target, 'sandbox');
  t.ok(server.requests, 'a request log');
  t.ok(server.faults, 'a fault injector');
  t.strictSame(await roundTrip(server), { data: { a: 'b' }, etcdclusters: [] });
});

t.test('real: kube-apiserver, without request log or faults', async (t) => {
  const server = await startTargetApiServer(t, { crds, users: { dev: {} } }, { TEST_APISERVER: 'real' });
  t.equal(server.target, 'real');
  t.equal(server.requests, undefined);
  t.equal(server.faults, undefined);
  t.match(server.token('dev'), /^[0-9a-f]+$/);
  t.strictSame(await roundTrip(server), { data: { a: 'b' }, etcdclusters: [] });
});

t.test('real: a sandbox-only option fails the test and says why', async (t) => {
  await t.rejects(
    startTargetApiServer(t, { admission: [], clock: () => new Date() }, { TEST_APISERVER: 'real' }),
    {
      name: 'UsageError',
      message: /TEST_APISERVER=real cannot honour clock, admission: this test needs the sandbox/,
    },
  );
  await t.rejects(startTargetApiServer(t, { tls: false }, { TEST_APISERVER: 'real' }), {
    message: /tls: false/,
  });
});

t.test('real: a missing kube-apiserver build fails with how to build it', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'empty-cache-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  await t.rejects(startTargetApiServer(t, {}, { TEST_APISERVER: 'real', ETCD_K8S_CACHE: cache }), {
    name: 'NotFoundError',
    message: /no kube-apiserver in .*: build it with hack\/kube-binaries\.sh --only kube-apiserver/,
  });
});

/** Polls `check` until it returns a value; undefined after 60 s (a bound on waiting, not a speed assertion). */
async function eventually<T>(check: () => Promise<T | undefined>): Promise<T | undefined> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
  }
  return undefined;
}

for (const target of ['sandbox', 'real'] as const) {
  t.test(`${target}: the pod runtime is the node; stop leaves nothing behind`, async (t) => {
    const sandbox = await startTargetSandbox(t, {}, { TEST_APISERVER: target });
    t.equal(sandbox.target, target);
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'sleeper' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }],
        },
      },
    });
    const running = await eventually(async () => {
      const pod = await core.readNamespacedPod({ namespace: 'default', name: 'sleeper' });
      return pod.status?.phase === 'Running' ? pod : undefined;
    });
    t.equal(running?.spec?.nodeName, sandbox.runtime.nodeName, 'bound to the runtime');
    t.ok(running?.status?.podIP, 'has an address');
    t.equal(sandbox.runtime.pod('default', 'sleeper')?.pids.length, 1, 'runs as a local process');

    if (sandbox.target === 'real') {
      await t.rejects(
        core.readNamespacedPodLog({ namespace: 'default', name: 'sleeper' }),
        {
          code: 500,
          body: /https:\/\/sandbox:10250\/containerLogs\/default\/sleeper\/main/,
        },
        'logs are proxied to a kubelet API the runtime does not serve',
      );
    }

    await core.deleteNamespacedPod({ namespace: 'default', name: 'sleeper' });
    t.ok(
      await eventually(() =>
        core.readNamespacedPod({ namespace: 'default', name: 'sleeper' }).then(
          () => undefined,
          () => true,
        ),
      ),
      'a deleted pod goes away',
    );
    await sandbox.stop();
    t.strictSame(sandbox.runtime.leftovers(), { processes: [], netns: [], links: [], dirs: [] });
    if (sandbox.target === 'real')
      t.strictSame(processesMentioning(sandbox.api.dir), [], 'no control-plane process');
  });
}
