/** Which backups a retention policy deletes after a success; never the newest one. */
import { parseDuration } from '../api/duration.js';

export interface RetentionPolicy {
  maxCount?: number;
  /** A Go duration (spec.retention.maxAge). */
  maxAge?: string;
}

export interface Dated {
  snapshot: string;
  time: string;
}

/** The backups to delete, from `backups` (every complete backup of the cluster in the store). */
export function expiredBackups<T extends Dated>(
  backups: readonly T[],
  policy: RetentionPolicy,
  now: Date,
): T[] {
  const newestFirst = [...backups].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const maxAgeMs = policy.maxAge === undefined ? undefined : parseDuration(policy.maxAge);
  return newestFirst.filter(
    (backup, index) =>
      index > 0 &&
      ((policy.maxCount !== undefined && index >= policy.maxCount) ||
        (maxAgeMs !== undefined && now.getTime() - Date.parse(backup.time) > maxAgeMs)),
  );
}
