import t from 'tap';
import { LeadershipLostError, UnavailableError } from '../../lib/errors.js';
import {
  Cache,
  ConfigMaps,
  Controller,
  Manager,
  type KubeObject,
  type LeaderElectorOptions,
  type ReconcileContext,
} from '../../lib/kube/index.js';
import { configMap, FakeClock, FakeSource, MemoryClient, settle } from '../helpers/fake-kube.js';

/** A manager with one controller whose reconcile of `a` waits for the test, under leader election. */
function setup(t: { teardown(fn: () => unknown): void }) {
  const clock = new FakeClock();
  const source = new FakeSource<KubeObject>();
  source.listResult = { items: [configMap('a', '1')], resourceVersion: '1' };
  const cache = new Cache({ sources: () => source as never, clock, random: () => 0 });
  const log: string[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let context: ReconcileContext | undefined;
  const controller = new Controller(
    {
      name: 'test',
      for: ConfigMaps,
      reconcile: async (_key, ctx) => {
        context = ctx;
        log.push('reconcile started');
        await finished;
        log.push('reconcile finished');
      },
    },
    { cache, clock },
  );
  const server = new MemoryClient();
  let cut = false;
  const client = {
    get: (...args: Parameters<MemoryClient['get']>) =>
      cut ? Promise.reject(new UnavailableError('cut')) : server.get(...args),
    create: (...args: Parameters<MemoryClient['create']>) =>
      cut ? Promise.reject(new UnavailableError('cut')) : server.create(...args),
    update: async (...args: Parameters<MemoryClient['update']>) => {
      if (cut) throw new UnavailableError('cut');
      const written = await server.update(...args);
      if ((written as { spec?: { holderIdentity?: string } }).spec?.holderIdentity === '')
        log.push('lease released');
      return written;
    },
  } as LeaderElectorOptions['client'];
  const manager = new Manager({
    cache,
    leaderElection: {
      client,
      namespace: 'ops',
      name: 'op',
      identity: 'me',
      clock,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      random: () => 0,
    },
  });
  manager.add(controller);
  const stop = new AbortController();
  t.teardown(() => {
    stop.abort();
    finish();
  });
  const running = manager.run(stop.signal);
  running.catch(() => undefined);
  return { clock, manager, running, stop, log, finish, cutLease: () => (cut = true), context: () => context };
}

t.test('a graceful stop lets the reconcile in flight finish, then hands back the lease', async (t) => {
  const { manager, running, stop, log, finish } = setup(t);
  await settle();
  t.ok(manager.isLeader());
  t.ok(manager.ready());
  t.same(log, ['reconcile started']);
  stop.abort();
  await settle();
  t.same(log, ['reconcile started'], 'the lease is kept while the reconcile runs');
  finish();
  await running;
  t.same(
    log,
    ['reconcile started', 'reconcile finished', 'lease released'],
    'released only after it finished',
  );
  t.notOk(manager.isLeader());
});

t.test('a lost lease aborts the reconciles in flight and rejects with LeadershipLostError', async (t) => {
  const { clock, manager, running, log, cutLease, context } = setup(t);
  await settle();
  t.same(log, ['reconcile started']);
  cutLease();
  await clock.advance(9_999);
  t.ok(manager.isLeader(), 'still leading before the renew deadline');
  t.equal(context()?.signal.aborted, false);
  await clock.advance(1);
  await t.rejects(running, LeadershipLostError);
  t.notOk(manager.isLeader());
  t.equal(context()?.signal.aborted, true, "the reconcile's signal aborted");
  t.notOk(log.includes('lease released'), 'nothing is written to a lease we no longer hold');
});

t.test(
  'without the lease nothing is reconciled, and stopping while waiting for it just returns',
  async (t) => {
    const clock = new FakeClock();
    const source = new FakeSource<KubeObject>();
    const cache = new Cache({ sources: () => source as never, clock });
    const server = new MemoryClient();
    await server.create(null, {
      metadata: { namespace: 'ops', name: 'op' },
      spec: { holderIdentity: 'someone-else', leaseDurationSeconds: 15 },
    } as KubeObject);
    let reconciles = 0;
    const manager = new Manager({
      cache,
      leaderElection: {
        client: server,
        namespace: 'ops',
        name: 'op',
        identity: 'me',
        clock,
        random: () => 0,
      },
    });
    manager.add(
      new Controller(
        { name: 'c', for: ConfigMaps, reconcile: async () => void reconciles++ },
        { cache, clock },
      ),
    );
    source.listResult = { items: [configMap('a', '1')], resourceVersion: '1' };
    const stop = new AbortController();
    const running = manager.run(stop.signal);
    await clock.advance(10_000);
    t.ok(manager.ready(), 'a standby keeps its caches warm');
    t.notOk(manager.isLeader());
    t.equal(reconciles, 0);
    stop.abort();
    await running;
    t.equal(reconciles, 0);
  },
);
