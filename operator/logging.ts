/** How etcd-operator's commands log and fail: JSON lines on stdout, one line on stderr, exit codes. */
import { pino, type Logger as PinoLogger } from 'pino';
import { hasCause, UsageError } from '../lib/errors.js';

/** pino JSON lines on stdout, `{ level: "info", time: ISO, component, pid }`. */
export function jsonLogger(component: string, level = 'info'): PinoLogger {
  return pino(
    {
      level,
      base: { component, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous: pino's asynchronous stdout was seen to reorder lines written to a pipe, and to
    // lose the last ones when the process exits right after a lost lease.
    pino.destination({ dest: 1, sync: true }),
  );
}

/** One line on stderr for whoever reads the terminal; the exit code: 3 for a usage error, else 1. */
export function reportFailure(err: unknown): number {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return hasCause(err, UsageError) ? 3 : 1;
}
