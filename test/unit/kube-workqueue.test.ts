import { register as promRegister, Registry } from 'prom-client';
import t from 'tap';
import { ControllerRateLimiter, createKubeMetrics, TokenBucket, WorkQueue } from '../../lib/kube/index.js';
import { FakeClock, settle } from '../helpers/fake-kube.js';

function queue(
  clock = new FakeClock(),
  rateLimiter = new ControllerRateLimiter({ clock, qps: 1e9, burst: 1e9 }),
) {
  return { clock, q: new WorkQueue({ name: 'test', clock, rateLimiter }) };
}

t.test('a key added many times is queued once', async (t) => {
  const { q } = queue();
  for (let i = 0; i < 100; i++) q.add('default/a');
  q.add('default/b');
  t.equal(q.length, 2);
  t.equal(await q.get(), 'default/a');
  t.equal(await q.get(), 'default/b');
  t.equal(q.length, 0);
});

t.test(
  'a key is never handed out twice at once; added while in flight, it is queued once after done',
  async (t) => {
    const { q } = queue();
    q.add('a');
    const key = await q.get();
    t.equal(key, 'a');
    for (let i = 0; i < 100; i++) q.add('a');
    t.equal(q.length, 0, 'not queued while in flight');
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await settle();
    t.equal(second, undefined, 'a second get waits');
    q.done('a');
    await settle();
    t.equal(second, 'a', 'handed out again after done');
    t.equal(q.length, 0, 'exactly once');
    q.done('a');
    t.equal(q.length, 0, 'nothing more to do');
  },
);

t.test('keys are handed out in the order they were added', async (t) => {
  const { q } = queue();
  for (const k of ['c', 'a', 'b', 'a']) q.add(k);
  t.same([await q.get(), await q.get(), await q.get()], ['c', 'a', 'b']);
});

t.test('addAfter delivers at the time asked, and the earliest pending time wins', async (t) => {
  const { clock, q } = queue();
  q.addAfter('a', 1000);
  q.addAfter('a', 500);
  q.addAfter('a', 2000);
  await clock.advance(499);
  t.equal(q.length, 0);
  await clock.advance(1);
  t.equal(q.length, 1);
  t.equal(await q.get(), 'a');
  q.done('a');
  await clock.advance(5000);
  t.equal(q.length, 0, 'the later times were not kept');
});

t.test('addRateLimited backs off exponentially per key; forget starts over', async (t) => {
  const { clock, q } = queue(new FakeClock());
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const before = clock.delays.length;
    q.addRateLimited('a');
    delays.push(clock.delays[before] ?? -1);
    await clock.advance(delays.at(-1) ?? 0);
    t.equal(await q.get(), 'a');
    q.done('a');
  }
  t.same(delays, [5, 10, 20, 40, 80, 160]);
  t.equal(q.retries('a'), 6);
  q.addRateLimited('b');
  t.equal(clock.delays.at(-1), 5, 'each key has its own back-off');
  q.forget('a');
  t.equal(q.retries('a'), 0);
  q.addRateLimited('a');
  t.equal(clock.delays.at(-1), 5, 'back to the base delay after forget');
});

t.test('per-key back-off stops growing at the maximum', async (t) => {
  const clock = new FakeClock();
  const limiter = new ControllerRateLimiter({
    clock,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    qps: 1e9,
    burst: 1e9,
  });
  const delays = Array.from({ length: 8 }, () => limiter.when('a'));
  t.same(delays, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  t.equal(limiter.when('b'), 100);
});

t.test('the token bucket allows a burst, then qps', async (t) => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(10, 3, clock);
  t.same([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0], 'the burst is free');
  t.equal(Math.round(bucket.reserve()), 100, 'then one token per 100 ms');
  t.equal(Math.round(bucket.reserve()), 200);
  await clock.advance(1000);
  t.equal(bucket.reserve(), 0, 'tokens saved up again');
});

t.test('the global rate limit delays retries of many keys beyond their own back-off', async (t) => {
  const clock = new FakeClock();
  const limiter = new ControllerRateLimiter({ clock, qps: 10, burst: 2 });
  const delays = ['a', 'b', 'c', 'd'].map((k) => Math.round(limiter.when(k)));
  t.same(delays, [5, 5, 100, 200]);
});

t.test('shutDown hands out nothing more and resolves when the keys in flight are done', async (t) => {
  const { clock, q } = queue();
  q.add('a');
  q.add('b');
  q.addAfter('c', 100);
  t.same([await q.get(), await q.get()], ['a', 'b']);
  let waiting: string | undefined = 'pending';
  void q.get().then((k) => (waiting = k));
  let drained = false;
  void q.shutDown().then(() => (drained = true));
  await settle();
  t.equal(waiting, undefined, 'a waiting get returns undefined');
  t.equal(await q.get(), undefined, 'and so does every later get');
  q.add('d');
  t.equal(q.length, 0, 'no adds after shutdown');
  await clock.advance(200);
  t.equal(q.length, 0, 'scheduled adds are dropped');
  q.done('a');
  await settle();
  t.notOk(drained, 'not drained while a key is in flight');
  q.done('b');
  await settle();
  t.ok(drained, 'drained once every key in flight is done');
  t.equal(q.inFlight, 0);
});

t.test('shutDown drops the keys still queued', async (t) => {
  const { q } = queue();
  q.add('a');
  q.add('b');
  await q.shutDown();
  t.equal(q.length, 0);
  t.equal(await q.get(), undefined);
});

t.test("queue metrics go to the caller's registry, never prom-client's global one", async (t) => {
  const registry = new Registry();
  const clock = new FakeClock();
  const q = new WorkQueue({
    name: 'things',
    clock,
    metrics: createKubeMetrics(registry),
    rateLimiter: new ControllerRateLimiter({ clock, qps: 1e9, burst: 1e9 }),
  });
  q.add('a');
  q.add('a');
  q.add('b');
  await clock.advance(2000);
  const key = await q.get();
  await clock.advance(500);
  q.done(key ?? '');
  q.addRateLimited('c');
  const value = async (name: string, field = 'value') => {
    const metric = await registry.getSingleMetric(name)?.get();
    const sample = metric?.values.find(
      (v) =>
        v.labels.name === 'things' &&
        (field === 'value' || (v as { metricName?: string }).metricName === field),
    );
    return sample?.value;
  };
  t.equal(await value('workqueue_depth'), 1, 'b waits');
  t.equal(await value('workqueue_adds_total'), 2, 'a duplicate add is not an add');
  t.equal(await value('workqueue_retries_total'), 1);
  t.equal(await value('workqueue_queue_duration_seconds', 'workqueue_queue_duration_seconds_sum'), 2);
  t.equal(await value('workqueue_work_duration_seconds', 'workqueue_work_duration_seconds_sum'), 0.5);
  t.equal(promRegister.getSingleMetric('workqueue_depth'), undefined, 'the global registry is untouched');
});
