/**
 * The EtcdBackup planner: pure. From the backup and the time, what the pass does — finish a run an
 * operator crash interrupted, start a run, record that the cluster is missing, or wait.
 */
import type { BackupRun, EtcdBackup } from '../../generated/types.js';
import { scheduleDecision } from './schedule.js';

/** A one-shot backup gives up after this many failed runs in a row. */
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

export interface BackupObserved {
  backup: EtcdBackup;
  clusterExists: boolean;
  now: Date;
}

export function planBackup({ backup, clusterExists, now }: BackupObserved): BackupAction {
  const status = backup.status ?? {};
  if (status.currentRun) return { kind: 'settle', run: status.currentRun };
  const failures = status.consecutiveFailures ?? 0;
  const retryAt = failures > 0 ? lastCompletion(backup) + retryDelayMs(failures) : undefined;
  const { schedule } = backup.spec;

  if (schedule === undefined) {
    if (status.phase === 'Succeeded' || failures >= ONE_SHOT_ATTEMPTS) return { kind: 'wait' };
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

function lastCompletion(backup: EtcdBackup): number {
  const latest = backup.status?.history?.[0];
  return Date.parse(latest?.completionTime ?? latest?.startTime ?? '') || 0;
}
