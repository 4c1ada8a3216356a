/**
 * When a scheduled backup runs, as Kubernetes CronJobs decide it: the latest schedule time not yet
 * run is due if it is at most `startingDeadlineSeconds` late. Only that latest one runs, so a
 * scheduled backup missed while the operator was down runs once at start, not once per missed time.
 */
import { CronExpressionParser } from 'cron-parser';

export interface ScheduleSpec {
  schedule: string;
  timeZone?: string;
  startingDeadlineSeconds: number;
}

export interface ScheduleDecision {
  /** A schedule time to run now. */
  due?: Date;
  /** A schedule time that passed its starting deadline and is skipped. */
  missed?: Date;
  /** The next schedule time after now. */
  next: Date;
}

/**
 * `since` is the latest schedule time already run (or, before the first run, when the backup was
 * created): only later times count.
 */
export function scheduleDecision(spec: ScheduleSpec, since: Date, now: Date): ScheduleDecision {
  const options = { currentDate: now, ...(spec.timeZone ? { tz: spec.timeZone } : {}) };
  const next = CronExpressionParser.parse(spec.schedule, options).next().toDate();
  const latest = CronExpressionParser.parse(spec.schedule, {
    ...options,
    // prev() is strictly before currentDate: a time equal to now is due now.
    currentDate: new Date(now.getTime() + 1),
  })
    .prev()
    .toDate();
  if (latest <= since) return { next };
  const late = now.getTime() - latest.getTime();
  return late <= spec.startingDeadlineSeconds * 1000 ? { due: latest, next } : { missed: latest, next };
}
