import t from 'tap';
import { GoneError, NotFoundError, UnavailableError, UsageError } from '../../lib/errors.js';
import {
  Cache,
  ConfigMaps,
  createKubeMetrics,
  formatLabelSelector,
  Informer,
  Namespaces,
  type KubeObject,
} from '../../lib/kube/index.js';
import { Registry } from 'prom-client';
import { configMap, FakeClock, FakeSource, settle } from '../helpers/fake-kube.js';

type Obj = ReturnType<typeof configMap>;

function setup(options: { resyncPeriodMs?: number } = {}) {
  const clock = new FakeClock();
  const source = new FakeSource<Obj>();
  const registry = new Registry();
  const metrics = createKubeMetrics(registry);
  const warnings: unknown[] = [];
  const logger = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (obj: object) => warnings.push(obj),
    error: (obj: object) => warnings.push(obj),
    child: () => logger,
  };
  const informer = new Informer<Obj>(source, {
    name: 'configmaps/*',
    clock,
    metrics,
    logger,
    random: () => 0,
    ...options,
  });
  const events: string[] = [];
  informer.addHandler({
    onAdd: (o) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onUpdate: (p, o) =>
      events.push(`update ${o.metadata.name}@${p.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
    onDelete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  const restarts = async (reason: string) =>
    (await registry.getSingleMetric('informer_watch_restarts_total')?.get())?.values.find(
      (v) => v.labels.reason === reason,
    )?.value ?? 0;
  return { clock, source, informer, events, warnings, restarts };
}

const names = (objs: KubeObject[]) => objs.map((o) => o.metadata?.name).sort();

t.test('lists, then watches from the list resourceVersion, and keeps the store current', async (t) => {
  const { source, informer, events } = setup();
  source.listResult = { items: [configMap('a', '5'), configMap('b', '6')], resourceVersion: '10' };
  informer.start();
  t.teardown(() => informer.stop());
  t.ok(await informer.waitForSync());
  await settle();
  t.equal(source.current.resourceVersion, '10', 'the watch starts at the list version');
  source.current.send({ type: 'ADDED', object: configMap('c', '11') });
  source.current.send({ type: 'MODIFIED', object: configMap('a', '12') });
  source.current.send({ type: 'DELETED', object: configMap('b', '13') });
  source.current.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } });
  t.same(names(informer.store.list()), ['a', 'c']);
  t.equal(informer.store.get({ namespace: 'default', name: 'a' })?.metadata?.resourceVersion, '12');
  t.same(events, ['add a@5', 'add b@6', 'add c@11', 'update a@5->12', 'delete b']);
  source.current.close();
  await settle();
  t.equal(source.lists, 1, 'a watch the server ends is resumed without a list');
  t.equal(source.current.resourceVersion, '20', 'from the last version seen (the bookmark)');
});

t.test('a watch that fails with 410 Gone relists and reports only what changed', async (t) => {
  const { source, informer, events, restarts } = setup();
  source.listResult = {
    items: [configMap('a', '5'), configMap('b', '6'), configMap('c', '7')],
    resourceVersion: '10',
  };
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  await settle();
  events.length = 0;
  source.listResult = {
    items: [configMap('a', '5'), configMap('b', '30'), configMap('d', '31')],
    resourceVersion: '40',
  };
  source.current.fail(new GoneError('too old resource version'));
  await settle();
  t.equal(source.lists, 2, 'listed again at once');
  t.same(events, ['update b@6->30', 'add d@31', 'delete c'], 'unchanged a is not reported');
  t.same(names(informer.store.list()), ['a', 'b', 'd']);
  t.equal(source.current.resourceVersion, '40');
  t.equal(await restarts('gone'), 1);
});

t.test('a GoneError wrapped in another error also relists', async (t) => {
  const { source, informer } = setup();
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  await settle();
  source.current.fail(new UnavailableError('watch failed', { cause: new GoneError('expired') }));
  await settle();
  t.equal(source.lists, 2, 'a GoneError anywhere in the cause chain counts');
});

t.test('failures back off exponentially, are logged, and never stop the informer', async (t) => {
  const { clock, source, informer, warnings, restarts } = setup();
  source.listResult = new UnavailableError('connection refused');
  informer.start();
  t.teardown(() => informer.stop());
  await settle();
  const sleeps: number[] = [];
  for (let i = 0; i < 7; i++) {
    const delay = clock.delays.at(-1) ?? 0;
    sleeps.push(delay);
    await clock.advance(delay);
  }
  t.same(sleeps, [800, 1600, 3200, 6400, 12800, 25600, 30000], 'doubling from 800 ms to at most 30 s');
  t.equal(source.lists, 8);
  t.equal(warnings.length, 8, 'each failure is logged');
  t.equal(await restarts('error'), 8, 'and counted');
  t.notOk(informer.hasSynced());
  source.listResult = { items: [configMap('a', '1')], resourceVersion: '2' };
  await clock.advance(30_000);
  t.ok(informer.hasSynced(), 'it recovers when the server does');
  t.equal(source.current.resourceVersion, '2');
});

t.test('a watch that keeps ending at once without events backs off instead of spinning', async (t) => {
  const { clock, source, informer } = setup();
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  await settle();
  for (let i = 0; i < 3; i++) {
    source.current.close();
    await settle();
    await clock.advance(clock.delays.at(-1) ?? 0);
  }
  t.same(clock.delays.slice(-3), [800, 1600, 3200]);
  t.equal(source.watches.length, 4);
  t.equal(source.lists, 1, 'no relist: the version is still good');
});

t.test('after errors, the watch resumes from the last version without a relist', async (t) => {
  const { clock, source, informer } = setup();
  source.listResult = { items: [], resourceVersion: '10' };
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  await settle();
  source.current.send({ type: 'ADDED', object: configMap('a', '11') });
  source.current.fail(new UnavailableError('connection reset'));
  await settle();
  await clock.advance(800);
  t.equal(source.current.resourceVersion, '11');
  t.equal(source.lists, 1);
});

t.test('a handler that throws is logged and the others still run', async (t) => {
  const { source, informer, warnings } = setup();
  const seen: string[] = [];
  informer.addHandler({
    onAdd: () => {
      throw new Error('boom');
    },
  });
  informer.addHandler({ onAdd: (o) => seen.push(o.metadata.name) });
  source.listResult = { items: [configMap('a', '1')], resourceVersion: '1' };
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  t.same(seen, ['a']);
  t.equal(warnings.length, 1);
});

t.test('a handler added after the sync sees the cached objects as adds', async (t) => {
  const { source, informer } = setup();
  source.listResult = { items: [configMap('a', '1'), configMap('b', '2')], resourceVersion: '2' };
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  const seen: string[] = [];
  informer.addHandler({ onAdd: (o) => seen.push(o.metadata.name) });
  t.same(seen.sort(), ['a', 'b']);
});

t.test('resync hands every cached object to onUpdate again, every period plus jitter', async (t) => {
  const { clock, source, informer, events } = setup({ resyncPeriodMs: 60_000 });
  source.listResult = { items: [configMap('a', '1')], resourceVersion: '2' };
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  events.length = 0;
  await clock.advance(59_999);
  t.same(events, []);
  await clock.advance(1);
  t.same(events, ['update a@1->1']);
  await clock.advance(60_000);
  t.same(events, ['update a@1->1', 'update a@1->1']);
});

t.test('stop ends the watch and the loop; waitForSync of a stopped informer answers false', async (t) => {
  const { clock, source, informer } = setup({ resyncPeriodMs: 1000 });
  source.listResult = new UnavailableError('down');
  informer.start();
  await settle();
  const waiting = informer.waitForSync();
  await informer.stop();
  t.equal(await waiting, false);
  await clock.advance(100_000);
  t.equal(source.lists, 1, 'no retry after stop');
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
});

t.test('the cache shares one informer per (kind, namespace, selector) and reads from them', async (t) => {
  const scopes: string[] = [];
  const sources = new Map<string, FakeSource<KubeObject>>();
  const cache = new Cache({
    namespaces: ['a', 'b'],
    sources: (type, scope) => {
      const id = `${type.plural} ${scope.namespace ?? '*'} ${scope.labelSelector ? formatLabelSelector(scope.labelSelector) : ''}`;
      scopes.push(id.trim());
      const source = new FakeSource<KubeObject>();
      sources.set(id.trim(), source);
      return source as never;
    },
  });
  const all = cache.informer(ConfigMaps);
  t.equal(cache.informer(ConfigMaps), all, 'the same kind is shared');
  const selected = cache.informer(ConfigMaps, { matchLabels: { app: 'etcd' } });
  t.not(selected, all, 'a selector makes another informer');
  t.equal(cache.informer(ConfigMaps, { matchLabels: { app: 'etcd' } }), selected);
  cache.informer(Namespaces);
  t.same(
    scopes,
    ['configmaps a', 'configmaps b', 'configmaps a app=etcd', 'configmaps b app=etcd', 'namespaces *'],
    'one informer per watched namespace; one for a cluster-scoped kind',
  );

  const source = (id: string) => sources.get(id) ?? new FakeSource<KubeObject>();
  source('configmaps a').listResult = {
    items: [
      configMap('x', '1', {
        namespace: 'a',
        ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'o', uid: 'u1' }],
      }),
    ],
    resourceVersion: '1',
  };
  source('configmaps b').listResult = {
    items: [configMap('y', '2', { namespace: 'b' })],
    resourceVersion: '2',
  };
  await t.rejects(
    cache.get(ConfigMaps, { namespace: 'a', name: 'x' }),
    UsageError,
    'reads need a started cache',
  );
  cache.start();
  t.teardown(() => cache.stop());
  t.equal((await cache.get(ConfigMaps, { namespace: 'a', name: 'x' })).metadata?.name, 'x');
  await t.rejects(cache.get(ConfigMaps, { namespace: 'b', name: 'x' }), NotFoundError);
  await t.rejects(cache.get(ConfigMaps, { namespace: 'c', name: 'x' }), UsageError, 'c is not watched');
  t.same(names((await cache.list(ConfigMaps)).items), ['x', 'y']);
  t.same(names((await cache.list(ConfigMaps, { namespace: 'b' })).items), ['y']);
  t.same(names((await cache.list(ConfigMaps, { ownerUid: 'u1' })).items), ['x']);
  await t.rejects(cache.list(ConfigMaps, { fieldSelector: 'metadata.name=x' }), UsageError);
  t.ok(cache.hasSynced(), 'synced: every informer has listed');
});
