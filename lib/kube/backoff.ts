/** Exponential back-off with jitter: pure, so that its growth is tested by tables. */

export interface BackoffPolicy {
  /** The delay after the first failure. */
  initialMs: number;
  /** No delay exceeds this (before jitter). */
  maxMs: number;
  /** Each further failure multiplies the delay by this. */
  factor: number;
  /** Adds up to this fraction of the delay at random, so that many clients do not retry in step. */
  jitter: number;
}

/** client-go's reflector: 800 ms doubling to 30 s, with up to 100 % jitter. */
export const WATCH_BACKOFF: BackoffPolicy = { initialMs: 800, maxMs: 30_000, factor: 2, jitter: 1 };

/**
 * The delay before retry number `failures` (1 for the first failure). `random` returns [0, 1).
 */
export function backoffDelay(
  policy: BackoffPolicy,
  failures: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failures - 1);
  // Math.min before multiplying keeps the exponent from overflowing to Infinity after ~1000 failures.
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.min(exponent, 64));
  return base + base * policy.jitter * random();
}

/** `ms` stretched by up to `fraction` at random: resync and retry periods that do not line up. */
export function jittered(ms: number, fraction: number, random: () => number = Math.random): number {
  return ms + ms * fraction * random();
}
