import t from 'tap';
import { Registry } from 'prom-client';
import { TerminalError } from '../../lib/errors.js';
import {
  Cache,
  ConfigMaps,
  Controller,
  ControllerRateLimiter,
  createKubeMetrics,
  Pods,
  Secrets,
  type KubeObject,
  type Logger,
  type ObjectKey,
  type Reconciler,
  type ResourceType,
  watch,
} from '../../lib/kube/index.js';
import { configMap, FakeClock, FakeSource, settle } from '../helpers/fake-kube.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function pod(name: string, owner: { kind: string; apiVersion: string; name: string; controller?: boolean }) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      resourceVersion: '1',
      ownerReferences: [{ ...owner, uid: `uid-${owner.name}` }],
    },
  };
}

async function setup(
  t: { teardown(fn: () => unknown): void },
  reconcile: Reconciler,
  options: { concurrency?: number; configMaps?: KubeObject[] } = {},
) {
  const clock = new FakeClock();
  const sources = {
    configmaps: new FakeSource<KubeObject>(),
    pods: new FakeSource<KubeObject>(),
    secrets: new FakeSource<KubeObject>(),
  };
  sources.configmaps.listResult = { items: options.configMaps ?? [], resourceVersion: '1' };
  const cache = new Cache({
    sources: (type: ResourceType) => sources[type.plural as keyof typeof sources],
    clock,
    random: () => 0,
  } as ConstructorParameters<typeof Cache>[0]);
  const registry = new Registry();
  const bindings: Record<string, unknown>[] = [];
  const logger: Logger = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    child: (b) => {
      bindings.push(b);
      return logger;
    },
  };
  const controller = new Controller(
    {
      name: 'test',
      for: ConfigMaps,
      owns: [Pods],
      // A Secret concerns the ConfigMaps its `uses` label names.
      watches: [
        watch(Secrets, (secret) => [{ namespace: 'default', name: secret.metadata?.labels?.uses ?? '' }]),
      ],
      reconcile,
      concurrency: options.concurrency,
      rateLimiter: new ControllerRateLimiter({ clock, qps: 1e9, burst: 1e9 }),
    },
    { cache, clock, logger, metrics: createKubeMetrics(registry) },
  );
  t.teardown(async () => {
    controller.abortNow(new Error('test over'));
    await cache.stop();
  });
  cache.start();
  return { clock, sources, cache, controller, registry, bindings };
}

const key = (k: ObjectKey) => `${k.namespace}/${k.name}`;

t.test('reconciles each primary object by key, and an owned object by its controller owner', async (t) => {
  const seen: string[] = [];
  const { sources, controller } = await setup(
    t,
    async (k) => {
      seen.push(key(k));
    },
    { configMaps: [configMap('a', '1'), configMap('b', '2')] },
  );
  await controller.start();
  await settle();
  t.same(seen.sort(), ['default/a', 'default/b']);
  seen.length = 0;
  const pods = sources.pods.current;
  pods.send({
    type: 'ADDED',
    object: pod('a-0', { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', controller: true }),
  });
  pods.send({ type: 'ADDED', object: pod('x-0', { apiVersion: 'v1', kind: 'ConfigMap', name: 'x' }) });
  pods.send({
    type: 'ADDED',
    object: pod('y-0', { apiVersion: 'apps/v1', kind: 'ConfigMap', name: 'y', controller: true }),
  });
  pods.send({
    type: 'DELETED',
    object: pod('a-0', { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', controller: true }),
  });
  await settle();
  t.same(seen, ['default/a', 'default/a'], 'only the controller owner of the primary kind and group');
});

t.test('a watched kind queues the keys its map function names', async (t) => {
  const seen: string[] = [];
  const { sources, controller } = await setup(t, async (k) => {
    seen.push(key(k));
  });
  await controller.start();
  await settle();
  const secret = (name: string, labels: Record<string, string> = {}): KubeObject => ({
    metadata: { name, namespace: 'default', resourceVersion: '1', labels },
  });
  sources.secrets.current.send({ type: 'ADDED', object: secret('tls', { uses: 'a' }) });
  sources.secrets.current.send({ type: 'ADDED', object: secret('unrelated') });
  await settle();
  t.same(seen, ['default/a'], 'the mapped key, and nothing for an empty name');
});

t.test('a thrown error is retried with exponential back-off until it succeeds', async (t) => {
  const times: number[] = [];
  let failures = 4;
  const { clock, controller, registry } = await setup(
    t,
    async () => {
      times.push(clock.now());
      if (failures-- > 0) throw new Error('not yet');
    },
    { configMaps: [configMap('a', '1')] },
  );
  await controller.start();
  await settle();
  await clock.advance(10_000);
  const gaps = times.slice(1).map((time, i) => time - (times[i] ?? 0));
  t.same(gaps, [5, 10, 20, 40], 'each retry waits twice as long');
  await clock.advance(100_000);
  t.equal(times.length, 5, 'no retry after success');
  const total = await registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
  const byResult = Object.fromEntries((total?.values ?? []).map((v) => [String(v.labels.result), v.value]));
  t.same(byResult, { error: 4, success: 1 });
});

t.test('a TerminalError is not retried, even wrapped', async (t) => {
  let calls = 0;
  const { clock, controller } = await setup(
    t,
    async (k) => {
      calls++;
      if (k.name === 'a') throw new TerminalError('bad spec');
      throw new Error('wrapped', { cause: new TerminalError('bad spec') });
    },
    { configMaps: [configMap('a', '1'), configMap('b', '1')] },
  );
  await controller.start();
  await settle();
  await clock.advance(1_000_000);
  t.equal(calls, 2);
});

t.test('requeueAfter reconciles the key again after that long', async (t) => {
  const times: number[] = [];
  const { clock, controller } = await setup(
    t,
    async () => {
      times.push(clock.now());
      return times.length < 3 ? { requeueAfter: 30_000 } : undefined;
    },
    { configMaps: [configMap('a', '1')] },
  );
  await controller.start();
  await settle();
  await clock.advance(200_000);
  t.same(
    times.map((time) => time - (times[0] ?? 0)),
    [0, 30_000, 60_000],
  );
});

t.test('keys reconcile concurrently up to the limit; one key never twice at once', async (t) => {
  const active = new Set<string>();
  let peak = 0;
  const overlaps: string[] = [];
  const gates: (() => void)[] = [];
  let calls = 0;
  const names = Array.from({ length: 10 }, (_, i) => `cm-${i}`);
  const { sources, controller } = await setup(
    t,
    async (k) => {
      const id = key(k);
      if (active.has(id)) overlaps.push(id);
      active.add(id);
      peak = Math.max(peak, active.size);
      calls++;
      const gate = deferred();
      gates.push(gate.resolve);
      await gate.promise;
      active.delete(id);
    },
    { concurrency: 3, configMaps: names.map((n) => configMap(n, '1')) },
  );
  await controller.start();
  await settle();
  t.equal(active.size, 3, 'three at once');
  let version = 2;
  for (let round = 0; gates.length > 0; round++) {
    // For 20 rounds, change every object, those in flight included, before one reconcile finishes.
    for (const n of round < 20 ? names : []) {
      sources.configmaps.current.send({ type: 'MODIFIED', object: configMap(n, String(version++)) });
    }
    gates.shift()?.();
    await settle();
  }
  t.equal(peak, 3, 'never more than the configured concurrency');
  t.same(overlaps, [], 'no key was reconciled twice at once');
  t.ok(calls >= 10);
});

t.test('a key changed 100 times while its reconcile runs is reconciled once more', async (t) => {
  let calls = 0;
  const gate = deferred();
  const { sources, controller } = await setup(
    t,
    async () => {
      calls++;
      if (calls === 1) await gate.promise;
    },
    { configMaps: [configMap('a', '1')] },
  );
  await controller.start();
  await settle();
  t.equal(calls, 1);
  for (let i = 2; i < 102; i++)
    sources.configmaps.current.send({ type: 'MODIFIED', object: configMap('a', String(i)) });
  await settle();
  t.equal(calls, 1, 'not again while it runs');
  gate.resolve();
  await settle();
  t.equal(calls, 2, 'exactly once more after');
});

t.test('each reconcile gets a child logger with reconcileID, namespace and name', async (t) => {
  const ids: string[] = [];
  const { controller, bindings } = await setup(
    t,
    async (_k, context) => {
      ids.push(context.reconcileID);
    },
    { configMaps: [configMap('a', '1')] },
  );
  await controller.start();
  await settle();
  const reconcileBindings = bindings.filter((b) => 'reconcileID' in b);
  t.same(reconcileBindings, [{ reconcileID: ids[0], namespace: 'default', name: 'a' }]);
  t.match(ids[0], /^[0-9a-f-]{36}$/);
});

t.test('stop lets the reconcile in flight finish; abortNow aborts its signal', async (t) => {
  const gate = deferred();
  let signal: AbortSignal | undefined;
  let finished = false;
  const { controller } = await setup(
    t,
    async (_k, context) => {
      signal = context.signal;
      await gate.promise;
      finished = true;
    },
    { configMaps: [configMap('a', '1')] },
  );
  await controller.start();
  await settle();
  let stopped = false;
  void controller.stop().then(() => (stopped = true));
  await settle();
  t.notOk(stopped, 'stop waits for the reconcile in flight');
  t.equal(signal?.aborted, false, 'a graceful stop does not abort it');
  controller.abortNow(new Error('lease lost'));
  t.equal(signal?.aborted, true, 'abortNow aborts its signal');
  gate.resolve();
  await settle();
  t.ok(finished && stopped);
});
