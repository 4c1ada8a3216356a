/**
 * Members that could not be reached, as one error for the one line on stderr: typed by what went
 * wrong (every one refused by RBAC: forbidden, exit 6; otherwise unavailable, exit 2), naming the
 * members and the first reason (the others usually say the same of another pod).
 */
import { ForbiddenError, hasCause, UnavailableError } from '../lib/errors.js';

export interface Failure {
  member: string;
  error: Error;
}

export function unreachable(
  failures: readonly Failure[],
  total: number,
  what = 'could not be reached',
): Error | undefined {
  const first = failures[0];
  if (!first) return undefined;
  const forbidden = failures.every((f) => hasCause(f.error, ForbiddenError));
  const names = failures.map((f) => f.member).join(', ');
  const message = `${failures.length} of ${total} members ${what} (${names}): ${first.error.message}`;
  return forbidden
    ? new ForbiddenError(message, { cause: first.error })
    : new UnavailableError(message, { cause: first.error });
}
