/**
 * The Controller against the sandbox API server: events from real watches, reconciles that write
 * through the real API.
 */
import t from 'tap';
import { TerminalError } from '../../lib/errors.js';
import {
  Cache,
  clientSources,
  ConfigMaps,
  Controller,
  ControllerRateLimiter,
  type KubeClient,
  type ObjectKey,
  type Reconciler,
} from '../../lib/kube/index.js';
import { createNamespace, startKubeSandbox, waitFor } from '../helpers/kube-sandbox.js';

async function setup(t: Tap, namespace: string, reconcile: Reconciler, concurrency = 1) {
  const sandbox = await startKubeSandbox(t, ['controller']);
  const admin = sandbox.client();
  await createNamespace(admin, namespace);
  const cache = new Cache({ sources: clientSources(sandbox.client('controller')), namespaces: [namespace] });
  const controller = new Controller(
    {
      name: 'probe',
      for: ConfigMaps,
      reconcile,
      concurrency,
      rateLimiter: new ControllerRateLimiter({ baseDelayMs: 50 }),
    },
    { cache },
  );
  const start = async () => {
    cache.start();
    await controller.start();
  };
  t.teardown(async () => {
    controller.abortNow(new Error('test over'));
    await cache.stop();
  });
  return { admin, cache, controller, start, sandbox };
}

type Tap = { teardown(fn: () => void | Promise<void>): void };

const create = (client: KubeClient, namespace: string, name: string) =>
  client.create(ConfigMaps, { metadata: { name, namespace } });

/** Changes a marker object and waits until it is reconciled: everything queued before it is done. */
async function drain(client: KubeClient, calls: Map<string, number>, namespace: string) {
  const before = calls.get('marker') ?? 0;
  await client.apply(
    ConfigMaps,
    { metadata: { name: 'marker', namespace }, data: { at: String(before) } },
    { fieldManager: 'test' },
  );
  await waitFor('the marker to be reconciled', () =>
    (calls.get('marker') ?? 0) > before ? true : undefined,
  );
}

function counter() {
  const calls = new Map<string, number>();
  return { calls, count: (k: ObjectKey) => calls.set(k.name, (calls.get(k.name) ?? 0) + 1).get(k.name) ?? 0 };
}

t.test('a key changed 100 times while its reconcile runs is reconciled at most twice more', async (t) => {
  const { calls, count } = counter();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { admin, cache, start } = await setup(t, 'hot', async (k) => {
    if (count(k) === 1 && k.name === 'hot') await gate;
  });
  await create(admin, 'hot', 'hot');
  await start();
  await waitFor('the first reconcile', () => (calls.get('hot') === 1 ? true : undefined));
  let last = '';
  for (let i = 0; i < 100; i++) {
    const changed = await admin.patch(
      ConfigMaps,
      { namespace: 'hot', name: 'hot' },
      { type: 'merge', body: { data: { i: String(i) } } },
    );
    last = changed.metadata?.resourceVersion ?? '';
  }
  await waitFor('the cache to see the 100th change', async () => {
    const cached = await cache.get(ConfigMaps, { namespace: 'hot', name: 'hot' });
    return cached.metadata?.resourceVersion === last ? true : undefined;
  });
  t.equal(calls.get('hot'), 1, 'no second reconcile while the first runs');
  release();
  await drain(admin, calls, 'hot');
  const more = (calls.get('hot') ?? 0) - 1;
  t.ok(more >= 1 && more <= 2, `reconciled ${more} more time(s) for 100 changes`);
});

t.test('failures back off exponentially; a TerminalError is not retried', async (t) => {
  const { calls, count } = counter();
  const times: number[] = [];
  const { admin, start } = await setup(t, 'flaky', async (k) => {
    const n = count(k);
    if (k.name === 'flaky') {
      times.push(performance.now());
      if (n <= 4) throw new Error(`attempt ${n} fails`);
    }
    if (k.name === 'doomed') throw new TerminalError('cannot be fixed by retrying');
  });
  await create(admin, 'flaky', 'flaky');
  await create(admin, 'flaky', 'doomed');
  await start();
  await waitFor('the fifth attempt', () => (calls.get('flaky') === 5 ? true : undefined));
  const gaps = times.slice(1).map((time, i) => time - (times[i] ?? 0));
  t.comment(`gaps between attempts (ms): ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
  [50, 100, 200, 400].forEach((least, i) =>
    t.ok((gaps[i] ?? 0) >= least - 2, `retry ${i + 1} waited at least ${least} ms`),
  );
  await drain(admin, calls, 'flaky');
  t.equal(calls.get('flaky'), 5, 'no retry after success');
  t.equal(calls.get('doomed'), 1, 'the terminal error was not retried');
});

t.test(
  'keys reconcile concurrently up to the limit; one key is never reconciled twice at once',
  async (t) => {
    const active = new Set<string>();
    const overlaps: string[] = [];
    let peak = 0;
    const { calls, count } = counter();
    // The reconcile writes with the admin client, which exists once setup has run.
    const clients: { admin?: KubeClient } = {};
    const ctx = await setup(
      t,
      'busy',
      async (k) => {
        if (active.has(k.name)) overlaps.push(k.name);
        active.add(k.name);
        peak = Math.max(peak, active.size);
        try {
          // Each reconcile writes its own object, which brings new events for the key while it runs.
          if (count(k) <= 3 && k.name !== 'marker') {
            await clients.admin?.patch(
              ConfigMaps,
              { namespace: 'busy', name: k.name },
              { type: 'merge', body: { data: { n: String(calls.get(k.name)) } } },
            );
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        } finally {
          active.delete(k.name);
        }
      },
      4,
    );
    const { admin } = ctx;
    clients.admin = admin;
    for (let i = 0; i < 20; i++) await create(admin, 'busy', `cm-${i}`);
    await ctx.start();
    await waitFor('three passes over every key', () =>
      Array.from({ length: 20 }, (_, i) => calls.get(`cm-${i}`) ?? 0).every((n) => n >= 3) ? true : undefined,
    );
    await drain(admin, calls, 'busy');
    t.equal(peak, 4, 'four at once, never more');
    t.same(overlaps, [], 'no key overlapped itself');
  },
);
