import t from 'tap';
import { restartDelay, resetsBackoff, restarts, initRestarts } from '../../sandbox/runtime/backoff.js';
import { podPhase, podStatus, type ContainerRecord, type PodRecord } from '../../sandbox/runtime/status.js';
import { nextProbeState } from '../../sandbox/runtime/probes.js';

const at = new Date('2026-01-01T00:00:00Z');
const running = (name = 'c', ready = true): ContainerRecord => ({
  name,
  image: 'i',
  state: { kind: 'running', startedAt: at },
  restartCount: 0,
  ready,
  started: true,
});
const exited = (code: number): ContainerRecord => ({
  ...running(),
  ready: false,
  state: {
    kind: 'terminated',
    exitCode: code,
    reason: code ? 'Error' : 'Completed',
    startedAt: at,
    finishedAt: at,
  },
});
const record = (containers: ContainerRecord[], extra: Partial<PodRecord> = {}): PodRecord => ({
  init: [],
  containers,
  initDone: true,
  initFailed: false,
  hostIP: '10.0.0.1',
  podIP: '10.0.0.2',
  ...extra,
});

t.test('phase', async (t) => {
  t.equal(podPhase(record([running()], { initDone: false }), 'Always'), 'Pending');
  t.equal(
    podPhase(record([{ ...running(), state: { kind: 'waiting', reason: 'ContainerCreating' } }]), 'Always'),
    'Pending',
  );
  t.equal(podPhase(record([running()]), 'Always'), 'Running');
  t.equal(podPhase(record([exited(0)]), 'Always'), 'Running', 'Always restarts even after success');
  t.equal(podPhase(record([exited(0)]), 'OnFailure'), 'Succeeded');
  t.equal(podPhase(record([exited(1)]), 'OnFailure'), 'Running', 'OnFailure restarts a failure');
  t.equal(podPhase(record([exited(1)]), 'Never'), 'Failed');
  t.equal(podPhase(record([exited(0), exited(2)]), 'Never'), 'Failed');
  t.equal(podPhase(record([exited(0), running()]), 'Never'), 'Running');
  t.equal(podPhase(record([running()], { initFailed: true }), 'Never'), 'Failed');
});

t.test('status: conditions follow readiness and keep their transition time', async (t) => {
  const first = podStatus(record([running('a', true), running('b', false)]), 'Always', undefined, at);
  t.same(
    first.conditions?.map((c) => [c.type, c.status]),
    [
      ['PodScheduled', 'True'],
      ['Initialized', 'True'],
      ['ContainersReady', 'False'],
      ['Ready', 'False'],
    ],
  );
  const later = new Date('2026-01-01T00:01:00Z');
  const second = podStatus(record([running('a', true), running('b', true)]), 'Always', first, later);
  const ready = second.conditions?.find((c) => c.type === 'Ready');
  t.equal(ready?.status, 'True');
  t.same(ready?.lastTransitionTime, later, 'a change moves the transition time');
  t.same(
    second.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime,
    at,
    'no change keeps it',
  );
  t.equal(second.podIP, '10.0.0.2');
  t.same(second.podIPs, [{ ip: '10.0.0.2' }]);
  t.equal(second.containerStatuses?.[0]?.started, true);
  const done = podStatus(record([exited(0)]), 'Never', undefined, at);
  t.equal(done.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  t.same(done.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
});

t.test('restart back-off: immediate, then base doubling to the ceiling', async (t) => {
  const policy = { baseMs: 10_000, maxMs: 300_000 };
  t.same(
    [1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelay(policy, n)),
    [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000],
  );
  t.ok(resetsBackoff(policy, 600_000));
  t.notOk(resetsBackoff(policy, 599_999));
  t.same(
    [restarts('Always', 0), restarts('OnFailure', 0), restarts('OnFailure', 1), restarts('Never', 1)],
    [true, false, true, false],
  );
  t.same(
    [initRestarts('Always', 1), initRestarts('Never', 1), initRestarts('OnFailure', 0)],
    [true, false, false],
  );
});

t.test('probe thresholds', async (t) => {
  const probe = { successThreshold: 2, failureThreshold: 3 };
  let s = { successes: 0, failures: 0 } as ReturnType<typeof nextProbeState>;
  s = nextProbeState(s, true, probe);
  t.equal(s.result, undefined, 'one success is not enough');
  s = nextProbeState(s, true, probe);
  t.equal(s.result, true);
  s = nextProbeState(nextProbeState(s, false, probe), false, probe);
  t.equal(s.result, true, 'two failures keep it');
  s = nextProbeState(s, false, probe);
  t.equal(s.result, false, 'the third flips it');
});
