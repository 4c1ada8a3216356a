/**
 * The plugin's exit codes (documented in docs/kubectl-etcd.md), chosen by the first typed error in
 * an error's cause chain. Close to etcdctl's where the meaning is the same.
 */
import {
  ForbiddenError,
  InterruptedError,
  NotFoundError,
  UnavailableError,
  UsageError,
  ValidationError,
  hasCause,
} from '../lib/errors.js';

export const EXIT = {
  ok: 0,
  error: 1,
  unavailable: 2,
  usage: 3,
  notFound: 4,
  interrupted: 5,
  forbidden: 6,
} as const;

const BY_TYPE: [abstract new (...args: never[]) => Error, number][] = [
  [InterruptedError, EXIT.interrupted],
  [UsageError, EXIT.usage],
  [ValidationError, EXIT.usage],
  [NotFoundError, EXIT.notFound],
  [ForbiddenError, EXIT.forbidden],
  [UnavailableError, EXIT.unavailable],
];

export function exitCodeFor(err: unknown): number {
  for (const [type, code] of BY_TYPE) if (hasCause(err, type)) return code;
  return EXIT.error;
}

/** One line for a person: the message, never a stack trace. */
export function messageFor(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
