/**
 * planBackup, the EtcdBackup controller's pure planner: when a run starts, when a failure is retried,
 * and when a one-shot backup gives up, given the backup's status, its cluster and the time.
 */
import t from 'tap';
import type { BackupRunRecord, EtcdBackup } from '../../lib/api/index.js';
import { ONE_SHOT_ATTEMPTS, planBackup, retryDelayMs, type ObservedCluster } from '../../lib/backup/plan.js';

const NOW = new Date('2026-12-07T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const AVAILABLE: ObservedCluster = { availableSince: ago(3_600_000) };

function backup(status: EtcdBackup['status'] = {}, spec: Partial<EtcdBackup['spec']> = {}): EtcdBackup {
  return {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdBackup',
    metadata: { name: 'b', namespace: 'default', creationTimestamp: ago(3_600_000).toISOString() },
    spec: { clusterName: 'demo', storage: { volume: { claimName: 'snapshots' } }, ...spec },
    status,
  } as EtcdBackup;
}

/** The status after `records` (newest first) of failures, the latest one failing for `reason`. */
function failed(
  reason: string,
  records: BackupRunRecord[],
  extra: EtcdBackup['status'] = {},
): EtcdBackup['status'] {
  return {
    phase: 'Failed',
    consecutiveFailures: records.length,
    history: records,
    conditions: [
      { type: 'Succeeded', status: 'False', reason, message: 'm', lastTransitionTime: NOW.toISOString() },
    ],
    ...extra,
  };
}

/** A failed record that ended `msAgo` ago; `run` false for a pass that found no cluster and started no run. */
function record(msAgo: number, run = true): BackupRunRecord {
  const at = ago(msAgo).toISOString();
  return {
    name: run ? 'demo/demo-x.db' : '',
    startTime: at,
    completionTime: at,
    outcome: 'Failed',
    message: 'm',
  };
}

t.test(
  'a one-shot backup runs at once when its cluster has quorum, and never again once it succeeded',
  async (t) => {
    t.same(planBackup({ backup: backup(), cluster: AVAILABLE, now: NOW }), { kind: 'run' });
    t.same(planBackup({ backup: backup({ phase: 'Succeeded' }), cluster: AVAILABLE, now: NOW }), {
      kind: 'wait',
    });
  },
);

t.test('a run an operator crash interrupted is settled before anything else', async (t) => {
  const run = { name: 'demo/demo-x.db', startTime: ago(5_000).toISOString() };
  t.same(
    planBackup({ backup: backup({ phase: 'Running', currentRun: run }), cluster: undefined, now: NOW }),
    {
      kind: 'settle',
      run,
    },
  );
});

t.test('a failed run is retried with backoff', async (t) => {
  const status = failed('BackendUnreachable', [record(5_000), record(60_000)]);
  t.same(planBackup({ backup: backup(status), cluster: AVAILABLE, now: NOW }), {
    kind: 'wait',
    requeueAfterMs: retryDelayMs(2) - 5_000,
  });
  const later = new Date(NOW.getTime() + retryDelayMs(2));
  t.same(planBackup({ backup: backup(status), cluster: AVAILABLE, now: later }), { kind: 'run' });
});

t.test(`a one-shot backup gives up after ${ONE_SHOT_ATTEMPTS} failed runs in a row`, async (t) => {
  const runs = Array.from({ length: ONE_SHOT_ATTEMPTS }, (_, i) => record(3_600_000 - i * 1_000));
  t.same(planBackup({ backup: backup(failed('BackendUnreachable', runs)), cluster: AVAILABLE, now: NOW }), {
    kind: 'wait',
  });
  const fewer = runs.slice(1);
  t.same(planBackup({ backup: backup(failed('BackendUnreachable', fewer)), cluster: AVAILABLE, now: NOW }), {
    kind: 'run',
  });
});

t.test(
  'a one-shot backup applied before its cluster waits for it, and runs the moment it exists',
  async (t) => {
    const waits = Array.from({ length: ONE_SHOT_ATTEMPTS + 3 }, (_, i) => record(1_000 + i * 60_000, false));
    const waiting = backup(failed('ClusterNotFound', waits));
    t.same(
      planBackup({ backup: waiting, cluster: undefined, now: new Date(NOW.getTime() + retryDelayMs(99)) }),
      { kind: 'cluster-missing', retryAfterMs: retryDelayMs(waits.length + 1) },
      'passes that found no cluster are not runs: it does not give up',
    );
    t.same(
      planBackup({ backup: waiting, cluster: AVAILABLE, now: NOW }),
      { kind: 'run' },
      'the cluster appeared: no waiting out the backoff',
    );
  },
);

t.test('after NoQuorum, a run starts when the cluster regains quorum, not before', async (t) => {
  const noQuorum = backup(failed('NoQuorum', [record(2_000)]));
  const stillDown = { availableSince: ago(60_000) };
  t.same(
    planBackup({ backup: noQuorum, cluster: stillDown, now: NOW }),
    { kind: 'wait', requeueAfterMs: retryDelayMs(1) - 2_000 },
    'available before the failure says nothing new: backoff',
  );
  t.same(planBackup({ backup: noQuorum, cluster: {}, now: NOW }), {
    kind: 'wait',
    requeueAfterMs: retryDelayMs(1) - 2_000,
  });
  t.same(
    planBackup({ backup: noQuorum, cluster: { availableSince: ago(500) }, now: NOW }),
    { kind: 'run' },
    'available since the failure: at once',
  );
});

t.test('a scheduled backup whose cluster appeared reruns its missed time at once', async (t) => {
  const due = ago(30_000);
  const status = failed('ClusterNotFound', [record(2_000, false)], { lastScheduleTime: due.toISOString() });
  const scheduled = backup(status, { schedule: '@daily' });
  t.same(planBackup({ backup: scheduled, cluster: AVAILABLE, now: NOW }), {
    kind: 'run',
    scheduledTime: due,
  });
  const missing = planBackup({ backup: scheduled, cluster: undefined, now: NOW });
  t.equal(missing.kind, 'wait', 'still missing: the backoff holds');
});
