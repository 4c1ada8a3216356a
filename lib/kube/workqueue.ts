/**
 * The work queue of a controller (client-go's contract): a key is queued at most once however often
 * it is added; a key being processed is never handed out again until `done`, and if it was added
 * meanwhile it is queued again then; failures back off per key; `addAfter` schedules.
 */
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import type { KubeMetrics } from './metrics.js';
import { ControllerRateLimiter, type RateLimiter } from './rate-limit.js';

export interface WorkQueueOptions {
  /** Names the queue in metrics. */
  name: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: KubeMetrics;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys that need processing: queued, or added again while being processed. */
  private readonly dirty = new Set<string>();
  /** Keys handed out and not yet done, with when they were handed out. */
  private readonly processing = new Map<string, number>();
  private readonly waiting = new Map<string, { at: number; timer: TimerHandle }>();
  private readonly addedAt = new Map<string, number>();
  private getters: ((key: string | undefined) => void)[] = [];
  private drained: (() => void)[] = [];
  private shuttingDown = false;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;

  constructor(private readonly options: WorkQueueOptions) {
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? new ControllerRateLimiter({ clock: this.clock });
  }

  /** Keys waiting to be handed out. */
  get length(): number {
    return this.queue.length;
  }

  /** Keys handed out and not yet done. */
  get inFlight(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    this.options.metrics?.queueAdds.inc({ name: this.options.name });
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.handOut();
  }

  /** Adds `key` after `ms`; an earlier pending time for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.timer);
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Adds `key` after its back-off: longer with each failure since it was last forgotten. */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.options.metrics?.queueRetries.inc({ name: this.options.name });
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** `key` succeeded: its back-off starts over. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  /** Failures counted for `key` since it was last forgotten. */
  retries(key: string): number {
    return this.rateLimiter.retries(key);
  }

  /** The next key to process, once there is one; undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Processing of `key` ended; if it was added meanwhile it is queued again now. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.options.metrics?.queueWork.observe({ name: this.options.name }, (this.clock.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.queue.push(key);
      this.handOut();
    }
    if (this.shuttingDown && this.processing.size === 0)
      for (const resolve of this.drained.splice(0)) resolve();
  }

  /**
   * Stops handing out keys (waiting `get`s return undefined), drops what is queued or scheduled, and
   * resolves once every key in flight is done. Keys are names, not events: whoever runs next lists
   * everything again, so nothing dropped here is lost.
   */
  shutDown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const { timer } of this.waiting.values()) this.clock.clearTimeout(timer);
      this.waiting.clear();
      this.queue.length = 0;
      this.updateDepth();
      for (const resolve of this.getters.splice(0)) resolve(undefined);
    }
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    const now = this.clock.now();
    this.processing.set(key, now);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined)
      this.options.metrics?.queueWait.observe({ name: this.options.name }, (now - added) / 1000);
    this.updateDepth();
    return key;
  }

  private handOut(): void {
    while (this.getters.length > 0 && this.queue.length > 0) {
      const key = this.take();
      this.getters.shift()?.(key);
    }
    this.updateDepth();
  }

  private updateDepth(): void {
    this.options.metrics?.queueDepth.set({ name: this.options.name }, this.queue.length);
  }
}
