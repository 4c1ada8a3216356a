/**
 * When a failed key may run again: per-key exponential back-off, and a token bucket over all keys so
 * that a storm of failures cannot hammer the API server (client-go's default controller rate limiter).
 */
import { systemClock, type Clock } from './clock.js';

export interface RateLimiter {
  /** The delay before `key` may run again; each call counts one more failure. */
  when(key: string): number;
  /** `key` succeeded: its back-off starts over. */
  forget(key: string): void;
  /** Failures counted for `key` since it last succeeded. */
  retries(key: string): number;
}

/** A token bucket: `qps` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Takes a token and returns how long to wait until it is really there (0 when one was saved up). */
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
}

export interface RateLimiterOptions {
  /** The delay after the first failure of a key (5 ms); it doubles with each further failure. */
  baseDelayMs?: number;
  /** The longest per-key delay (1000 s). */
  maxDelayMs?: number;
  /** Retries a second over all keys (10), with bursts of up to `burst` (100). */
  qps?: number;
  burst?: number;
  clock?: Clock;
}

/** The larger of a per-key exponential delay and the global token bucket's delay. */
export class ControllerRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly bucket: TokenBucket;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: RateLimiterOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 1_000_000;
    this.bucket = new TokenBucket(options.qps ?? 10, options.burst ?? 100, options.clock);
  }

  when(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const exponential = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures, 64));
    return Math.max(exponential, this.bucket.reserve());
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
