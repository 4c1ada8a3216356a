/**
 * Ctrl-C during a long operation: the first SIGINT (or SIGTERM) aborts the signal handed out, so
 * that the operation stops at its next safe point and cleans up; a second one exits at once.
 */
import { EXIT } from './exit-codes.js';

export interface Interruptible {
  signal: AbortSignal;
  /** Stops listening for the signals. */
  dispose(): void;
}

export function onInterrupt(): Interruptible {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
