/**
 * Informer: keeps a Store equal to the server's state for one (kind, namespace-or-all, selector).
 * It lists, then watches from the list's resourceVersion; a dropped watch resumes from the last
 * version seen; 410 Gone relists; every failure is logged, counted and retried with back-off.
 * Unlike client-node's informer it never stops on an error: only `stop()` stops it.
 */
import { GoneError, hasCause } from '../errors.js';
import { backoffDelay, jittered, WATCH_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { KubeClient, ObjectList, WatchEvent } from './client.js';
import { sleep, systemClock, type Clock, type TimerHandle } from './clock.js';
import { formatKey, objectKey } from './keys.js';
import type { LabelSelector } from './labels.js';
import { silentLogger, type Logger } from './logger.js';
import type { KubeMetrics } from './metrics.js';
import type { KubeObject, ResourceType } from './resources.js';
import { Store, type StoreReader } from './store.js';

/** Where an informer gets its objects: the API server, or a fake in tests. */
export interface ListWatchSource<T> {
  list(signal: AbortSignal): Promise<ObjectList<T>>;
  /** Resolves when the server ends the watch, rejects when it fails; `signal` ends it quietly. */
  watch(resourceVersion: string, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
}

export interface InformerScope {
  /** Absent: every namespace (or a cluster-scoped kind). */
  namespace?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: string;
}

/** client-go watches for 5 to 10 minutes at a time, so that watches do not all end together. */
const WATCH_TIMEOUT_SECONDS = 300;

export function clientSource<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType<T>,
  scope: InformerScope,
  watchTimeoutSeconds = WATCH_TIMEOUT_SECONDS,
): ListWatchSource<T> {
  return {
    list: (signal) => client.list(type, { ...scope, signal }),
    watch: (resourceVersion, onEvent, signal) =>
      client.watch(
        type,
        { ...scope, resourceVersion, signal, timeoutSeconds: Math.round(jittered(watchTimeoutSeconds, 1)) },
        onEvent,
      ),
  };
}

export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(previous: T, obj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  /** Names the informer in logs and metrics, e.g. `configmaps/default`. */
  name: string;
  clock?: Clock;
  logger?: Logger;
  metrics?: KubeMetrics;
  /** Every this often (plus up to 10 % jitter), every cached object is handed to onUpdate again. 0: never. */
  resyncPeriodMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
}

/** A watch that ends this soon without a single event counts as a failure (client-go's rule). */
const SHORT_WATCH_MS = 1000;
const RESYNC_JITTER = 0.1;

export class Informer<T extends KubeObject> {
  private readonly data = new Store<T>();
  private readonly handlers: EventHandler<T>[] = [];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private running: { abort: AbortController; done: Promise<void> } | undefined;
  private resyncTimer?: TimerHandle;

  constructor(
    private readonly source: ListWatchSource<T>,
    private readonly options: InformerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ informer: options.name });
    this.random = options.random ?? Math.random;
  }

  get name(): string {
    return this.options.name;
  }

  get store(): StoreReader<T> {
    return this.data;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the store, false if `signal` aborts or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== onSync);
        done(false);
      };
      const onSync = () => done(this.synced);
      this.syncWaiters.push(onSync);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Handlers added after the first list see every cached object as an add first. */
  addHandler(handler: EventHandler<T>): void {
    this.handlers.push(handler);
    if (this.synced) for (const obj of this.data.list()) this.call(handler, 'onAdd', obj);
  }

  start(): void {
    if (this.running) return;
    const abort = new AbortController();
    this.running = { abort, done: this.run(abort.signal) };
  }

  /** Stops watching; the store keeps its last state. */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.abort.abort();
    this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    await running.done;
    this.running = undefined;
    for (const waiter of this.syncWaiters.splice(0)) waiter();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      let delay = 0;
      try {
        if (resourceVersion === undefined) {
          const list = await this.source.list(signal);
          if (signal.aborted) break;
          this.replace(list.items);
          resourceVersion = list.resourceVersion;
        }
        const started = this.clock.now();
        let events = 0;
        await this.source.watch(
          resourceVersion,
          (event) => {
            events++;
            resourceVersion = this.apply(event) ?? resourceVersion;
          },
          signal,
        );
        if (signal.aborted) break;
        this.restarted('closed');
        if (events > 0 || this.clock.now() - started >= SHORT_WATCH_MS) failures = 0;
        else delay = this.backoff(++failures);
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        if (hasCause(err, GoneError)) {
          // The versions we know are compacted away: list again, at once the first time.
          resourceVersion = undefined;
          this.restarted('gone');
          delay = failures === 1 ? 0 : this.backoff(failures - 1);
          this.logger.info({ err, delayMs: delay }, 'watch expired (410 Gone): relisting');
        } else {
          this.restarted('error');
          delay = this.backoff(failures);
          this.logger.warn({ err, failures, delayMs: Math.round(delay) }, 'list or watch failed: retrying');
        }
      }
      if (delay > 0) await sleep(this.clock, delay, signal);
    }
  }

  private backoff(failures: number): number {
    return backoffDelay(this.options.backoff ?? WATCH_BACKOFF, failures, this.random);
  }

  private restarted(reason: 'closed' | 'gone' | 'error'): void {
    this.options.metrics?.watchRestarts.inc({ informer: this.options.name, reason });
  }

  /** Applies one watch event; returns the resourceVersion it brings. */
  private apply(event: WatchEvent<T>): string | undefined {
    if (event.type !== 'BOOKMARK') {
      const key = formatKey(objectKey(event.object));
      if (event.type === 'DELETED') {
        this.data.delete(key);
        this.notify('onDelete', event.object);
      } else {
        const previous = this.data.set(key, event.object);
        if (previous) this.notify('onUpdate', previous, event.object);
        else this.notify('onAdd', event.object);
      }
    }
    return event.object.metadata?.resourceVersion;
  }

  /** Makes the store equal to a fresh list, telling handlers only what changed. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = formatKey(objectKey(obj));
      seen.add(key);
      const previous = this.data.set(key, obj);
      if (!previous) this.notify('onAdd', obj);
      else if (previous.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        this.notify('onUpdate', previous, obj);
      }
    }
    for (const key of this.data.keys()) {
      if (seen.has(key)) continue;
      const gone = this.data.delete(key);
      if (gone) this.notify('onDelete', gone);
    }
    if (!this.synced) {
      this.synced = true;
      this.logger.debug({ objects: items.length }, 'synced');
      for (const waiter of this.syncWaiters.splice(0)) waiter();
    }
    if (this.resyncTimer === undefined) this.scheduleResync();
  }

  private scheduleResync(): void {
    const period = this.options.resyncPeriodMs ?? 0;
    if (period <= 0 || this.running?.abort.signal.aborted) return;
    this.resyncTimer = this.clock.setTimeout(
      () => {
        for (const obj of this.data.list()) this.notify('onUpdate', obj, obj);
        this.scheduleResync();
      },
      jittered(period, RESYNC_JITTER, this.random),
    );
  }

  private notify(kind: 'onAdd' | 'onDelete', obj: T): void;
  private notify(kind: 'onUpdate', previous: T, obj: T): void;
  private notify(kind: 'onAdd' | 'onUpdate' | 'onDelete', a: T, b?: T): void {
    for (const handler of this.handlers) this.call(handler, kind, a, b);
  }

  /** A handler that throws is logged; it never stops the informer. */
  private call(handler: EventHandler<T>, kind: 'onAdd' | 'onUpdate' | 'onDelete', a: T, b?: T): void {
    try {
      if (kind === 'onUpdate') handler.onUpdate?.(a, b ?? a);
      else handler[kind]?.(a);
    } catch (err) {
      this.logger.error({ err, event: kind }, 'an event handler threw');
    }
  }
}
