import t from 'tap';
import { UnavailableError, UsageError } from '../../lib/errors.js';
import {
  decideLease,
  LeaderElector,
  microTime,
  type LeaderElectorOptions,
  type LeaseSpec,
} from '../../lib/kube/index.js';
import { FakeClock, MemoryClient, settle } from '../helpers/fake-kube.js';

const T0 = Date.UTC(2024, 0, 1);

t.test('decideLease: what a candidate does with the lease it read', async (t) => {
  const held = (holder: string, seconds = 15): LeaseSpec => ({
    holderIdentity: holder,
    leaseDurationSeconds: seconds,
    acquireTime: microTime(T0 - 60_000),
    renewTime: microTime(T0 - 60_000),
    leaseTransitions: 3,
  });
  const cases: [string, LeaseSpec | undefined, number, string, object][] = [
    [
      'no lease: create it',
      undefined,
      T0,
      'me',
      { action: 'create', spec: { holderIdentity: 'me', leaseTransitions: 0 } },
    ],
    [
      'mine: renew, keeping acquireTime and transitions',
      held('me'),
      T0,
      'me',
      {
        action: 'renew',
        spec: {
          holderIdentity: 'me',
          acquireTime: microTime(T0 - 60_000),
          renewTime: microTime(T0),
          leaseTransitions: 3,
        },
      },
    ],
    [
      'another holder seen 14.999 s ago: wait',
      held('other'),
      T0 - 14_999,
      'me',
      {
        action: 'wait',
        holder: 'other',
        expiresAt: T0 + 1,
      },
    ],
    [
      'another holder seen 15 s ago: take it, one more transition',
      held('other'),
      T0 - 15_000,
      'me',
      {
        action: 'take',
        spec: { holderIdentity: 'me', acquireTime: microTime(T0), leaseTransitions: 4 },
      },
    ],
    ["the record's own duration counts, not ours", held('other', 60), T0 - 30_000, 'me', { action: 'wait' }],
    ['released (no holder): take it at once', held(''), T0, 'me', { action: 'take' }],
  ];
  for (const [name, current, observedAt, identity, expected] of cases) {
    t.match(decideLease(current, observedAt, T0, identity, 15_000), expected, name);
  }
  t.equal(microTime(T0 + 123), '2024-01-01T00:00:00.123000Z', 'MicroTime has microseconds');
});

t.test('the durations must be ordered retryPeriod < renewDeadline < leaseDuration', async (t) => {
  const client = new MemoryClient();
  t.throws(
    () =>
      new LeaderElector({
        client,
        namespace: 'x',
        name: 'l',
        identity: 'a',
        leaseDurationMs: 5000,
        renewDeadlineMs: 5000,
      }),
    UsageError,
  );
});

/** A candidate whose connection to the shared server can be cut. */
function candidate(clock: FakeClock, server: MemoryClient, identity: string, timeline: string[]) {
  let cut = false;
  const guard =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      cut ? Promise.reject(new UnavailableError('cut off')) : f(...args);
  const elector = new LeaderElector({
    client: {
      get: guard(server.get.bind(server)),
      create: guard(server.create.bind(server)),
      update: guard(server.update.bind(server)),
    } as LeaderElectorOptions['client'],
    namespace: 'kube-system',
    name: 'etcd-operator',
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    clock,
    random: () => 0,
    onLost: () => timeline.push(`${clock.now() - T0} ${identity} lost`),
  });
  const abort = new AbortController();
  const acquired = elector.acquire(abort.signal).then((ok) => {
    if (ok) timeline.push(`${clock.now() - T0} ${identity} leads`);
    return ok;
  });
  return { elector, abort, acquired, cut: () => (cut = true) };
}

/** Candidates started one after another (the first leads) on one fake clock and one lease server. */
async function election(t: { teardown(fn: () => unknown): void }, identities: string[]) {
  const clock = new FakeClock(T0);
  const server = new MemoryClient();
  const timeline: string[] = [];
  const candidates: ReturnType<typeof candidate>[] = [];
  for (const identity of identities) {
    candidates.push(candidate(clock, server, identity, timeline));
    await settle();
  }
  t.teardown(() => candidates.map((c) => [c.abort.abort(), c.elector.release()]));
  const [a, b] = candidates as [ReturnType<typeof candidate>, ReturnType<typeof candidate>];
  return { clock, server, timeline, a, b };
}

const LEASE = 'kube-system/etcd-operator';

t.test('exactly one of two candidates leads while the leader renews', async (t) => {
  const { clock, server, timeline, a, b } = await election(t, ['a', 'b']);
  for (let i = 0; i < 60; i++) {
    await clock.advance(1000);
    t.ok(a.elector.isLeader() !== b.elector.isLeader(), `one leader at ${i + 1} s`);
  }
  t.same(timeline, ['0 a leads']);
  t.equal(b.elector.holder, 'a', 'the standby sees who holds the lease');
  const renewals = server.calls.filter((c) => c.verb === 'update').length;
  t.equal(renewals, 30, 'the leader renews every retry period');
  const reads = server.calls.filter((c) => c.verb === 'get').length;
  t.equal(reads, 32, "one read per attempt: the leader's first, then only the standby's 31");
});

t.test(
  'a leader cut off stops leading at its renew deadline; the standby takes over after the lease duration',
  async (t) => {
    const { clock, timeline, a, b } = await election(t, ['a', 'b']);
    await clock.advance(10_000);
    a.cut();
    const overlap: number[] = [];
    for (let i = 0; i < 40; i++) {
      await clock.advance(500);
      if (a.elector.isLeader() && b.elector.isLeader()) overlap.push(clock.now() - T0);
    }
    t.same(overlap, [], 'never both leading');
    // a last renewed at 10 s; it gives up at 10 + 10 s; b saw that renewal at 10 s (it polls every 2 s)
    // and takes over at the first attempt after 10 + 15 s.
    t.same(timeline, ['0 a leads', '20000 a lost', '26000 b leads']);
    t.ok(await b.acquired);
  },
);

t.test('renewal failures shorter than the renew deadline do not cost the lease', async (t) => {
  const { clock, server, timeline, a } = await election(t, ['a']);
  server.failWith = new UnavailableError('blip');
  await clock.advance(7_000);
  server.failWith = undefined;
  await clock.advance(30_000);
  t.ok(a.elector.isLeader());
  t.same(timeline, ['0 a leads']);
});

t.test('a leader that sees another holder stops leading at once', async (t) => {
  const { clock, server, timeline } = await election(t, ['a']);
  const lease = server.objects.get(LEASE);
  await server.update(null, { ...lease, spec: { ...(lease?.spec as object), holderIdentity: 'intruder' } });
  await clock.advance(4_000);
  t.same(timeline, ['0 a leads', '4000 a lost']);
});

t.test('release hands the lease back: the standby leads at its next attempt', async (t) => {
  const { clock, server, timeline, a } = await election(t, ['a', 'b']);
  await clock.advance(5_000);
  await a.elector.release();
  t.notOk(a.elector.isLeader());
  t.match(server.objects.get(LEASE)?.spec, { holderIdentity: '', leaseDurationSeconds: 1 });
  await clock.advance(2_000);
  t.same(timeline, ['0 a leads', '6000 b leads']);
  t.match(server.objects.get(LEASE)?.spec, { holderIdentity: 'b', leaseTransitions: 1 });
});

t.test('acquire gives up when its signal aborts', async (t) => {
  const { clock, b } = await election(t, ['a', 'b']);
  await clock.advance(3_000);
  b.abort.abort();
  t.equal(await b.acquired, false);
});
