/**
 * The EtcdBackup planner: pure. From the backup, its cluster and the time, what the pass does —
 * finish a run an operator crash interrupted, start a run, record that the cluster is missing, or
 * wait.
 */
import type { BackupRun, EtcdBackup } from '../../generated/types.js';
import { scheduleDecision } from './schedule.js';

/**
 * A one-shot backup gives up after this many failed runs in a row. Waiting for a cluster that does
 * not exist yet is not a run: a backup applied before its cluster waits for it.
 */
export const ONE_SHOT_ATTEMPTS = 5;
const RETRY_BASE_MS = 10_000;
const RETRY_MAX_MS = 5 * 60_000;

export type BackupAction =
  /** A run in status.currentRun did not finish (the operator stopped): settle it first. */
  | { kind: 'settle'; run: BackupRun }
  | { kind: 'run'; scheduledTime?: Date }
  /** The cluster to back up does not exist: record the failure, touch nothing, retry later. */
  | { kind: 'cluster-missing'; retryAfterMs: number }
  /** Nothing to do now; `nextScheduleTime` goes to status. */
  | { kind: 'wait'; requeueAfterMs?: number; nextScheduleTime?: Date; missed?: Date };

/** The cluster to back up, as its EtcdCluster says. */
export interface ObservedCluster {
  /** When its Available condition last turned True; undefined while it has no quorum. */
  availableSince?: Date;
}

export interface BackupObserved {
  backup: EtcdBackup;
  /** Undefined when the EtcdCluster does not exist. */
  cluster: ObservedCluster | undefined;
  now: Date;
}

export function planBackup({ backup, cluster, now }: BackupObserved): BackupAction {
  const status = backup.status ?? {};
  if (status.currentRun) return { kind: 'settle', run: status.currentRun };
  const clusterExists = cluster !== undefined;
  const failures = status.consecutiveFailures ?? 0;
  const retryAt =
    failures === 0
      ? undefined
      : clusterRecovered(backup, cluster)
        ? now.getTime()
        : lastCompletion(backup) + retryDelayMs(failures);
  const { schedule } = backup.spec;

  if (schedule === undefined) {
    if (status.phase === 'Succeeded' || failedRunsInARow(backup) >= ONE_SHOT_ATTEMPTS)
      return { kind: 'wait' };
    if (retryAt !== undefined && retryAt > now.getTime()) {
      return { kind: 'wait', requeueAfterMs: retryAt - now.getTime() };
    }
    return clusterExists
      ? { kind: 'run' }
      : { kind: 'cluster-missing', retryAfterMs: retryDelayMs(failures + 1) };
  }

  if (backup.spec.suspend) return { kind: 'wait' };
  const since = new Date(status.lastScheduleTime ?? backup.metadata.creationTimestamp ?? now.toISOString());
  const decision = scheduleDecision(
    {
      schedule,
      startingDeadlineSeconds: backup.spec.startingDeadlineSeconds,
      ...(backup.spec.timeZone ? { timeZone: backup.spec.timeZone } : {}),
    },
    since,
    now,
  );
  const untilNext = decision.next.getTime() - now.getTime();
  const waitForNext = { kind: 'wait', nextScheduleTime: decision.next, requeueAfterMs: untilNext } as const;
  if (decision.due) {
    return clusterExists
      ? { kind: 'run', scheduledTime: decision.due }
      : { kind: 'cluster-missing', retryAfterMs: Math.min(untilNext, retryDelayMs(failures + 1)) };
  }
  // A failed run is retried with backoff until the next schedule time takes over.
  if (retryAt !== undefined && status.phase === 'Failed' && status.lastScheduleTime) {
    if (retryAt <= now.getTime()) {
      return clusterExists
        ? { kind: 'run', scheduledTime: new Date(status.lastScheduleTime) }
        : { kind: 'cluster-missing', retryAfterMs: Math.min(untilNext, retryDelayMs(failures + 1)) };
    }
    if (retryAt < decision.next.getTime()) return { ...waitForNext, requeueAfterMs: retryAt - now.getTime() };
  }
  return decision.missed ? { ...waitForNext, missed: decision.missed } : waitForNext;
}

/** 10 s, 20 s, 40 s, … up to 5 minutes after the latest failure. */
export function retryDelayMs(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));
}

/**
 * The latest run failed for want of the cluster (missing, or without quorum) and the cluster has
 * since appeared or regained quorum: retry now rather than at the end of the backoff.
 */
function clusterRecovered(backup: EtcdBackup, cluster: ObservedCluster | undefined): boolean {
  if (!cluster) return false;
  const reason = backup.status?.conditions?.find(
    (c) => c.type === 'Succeeded' && c.status === 'False',
  )?.reason;
  if (reason === 'ClusterNotFound') return true;
  return (
    reason === 'NoQuorum' &&
    cluster.availableSince !== undefined &&
    cluster.availableSince.getTime() > lastCompletion(backup)
  );
}

/** Failed runs since the latest success; a pass that found no cluster started no run (its record has no name). */
function failedRunsInARow(backup: EtcdBackup): number {
  const history = backup.status?.history ?? [];
  const streak = history.findIndex((r) => r.outcome !== 'Failed');
  return (streak < 0 ? history : history.slice(0, streak)).filter((r) => r.name !== '').length;
}

function lastCompletion(backup: EtcdBackup): number {
  const latest = backup.status?.history?.[0];
  return Date.parse(latest?.completionTime ?? latest?.startTime ?? '') || 0;
}
