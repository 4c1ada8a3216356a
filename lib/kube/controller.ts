/**
 * Controller: controller-runtime's contract. Changes to the primary kind, to the objects it owns
 * (through their controller ownerReference) and to anything mapped to it queue the primary's key;
 * workers call `reconcile(key)`, never with the event. A thrown error is retried with back-off, a
 * TerminalError is not, `{ requeueAfter }` schedules the next pass.
 */
import { randomUUID } from 'node:crypto';
import { hasCause, TerminalError } from '../errors.js';
import type { Cache } from './cache.js';
import { systemClock, type Clock } from './clock.js';
import type { EventHandler } from './informer.js';
import { formatKey, objectKey, parseKey, type ObjectKey } from './keys.js';
import { silentLogger, type Logger } from './logger.js';
import type { KubeMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import type { KubeObject, ResourceType } from './resources.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds. */
  requeueAfter?: number;
}

export interface ReconcileContext {
  /** Carries `{ reconcileID, namespace, name }`. */
  logger: Logger;
  reconcileID: string;
  /** Aborts when this process must stop at once (leadership lost); a graceful stop lets the reconcile finish. */
  signal: AbortSignal;
}

export type Reconciler = (key: ObjectKey, context: ReconcileContext) => Promise<ReconcileResult | void>;

/** Another kind whose changes concern some primary objects. */
export interface Watch<T extends KubeObject = KubeObject> {
  type: ResourceType<T>;
  /** The primary keys to reconcile when `obj` changes. */
  map(obj: T): ObjectKey[];
}

/** A Watch of one kind, typed for its map; what `watches` takes. */
export function watch<T extends KubeObject>(type: ResourceType<T>, map: (obj: T) => ObjectKey[]): Watch {
  return { type, map: (obj) => map(obj as T) };
}

export interface ControllerOptions<T extends KubeObject = KubeObject> {
  /** Names the controller in logs and metrics. */
  name: string;
  /** The primary kind: its keys are what `reconcile` receives. */
  for: ResourceType<T>;
  /** Kinds whose objects the primary owns (controller ownerReference). */
  owns?: readonly ResourceType[];
  watches?: readonly Watch[];
  reconcile: Reconciler;
  /** Keys reconciled at once (1); one key is never reconciled twice at once. */
  concurrency?: number;
  rateLimiter?: RateLimiter;
}

export interface ControllerDeps {
  cache: Cache;
  clock?: Clock;
  logger?: Logger;
  metrics?: KubeMetrics;
}

/** The key of the object's controller owner if that owner is of `owner`'s kind. */
export function controllerOwnerKey(obj: KubeObject, owner: ResourceType): ObjectKey | undefined {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller === true);
  if (!ref || ref.kind !== owner.kind || groupOf(ref.apiVersion) !== owner.group) return undefined;
  return { namespace: owner.namespaced ? (obj.metadata?.namespace ?? '') : '', name: ref.name };
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export class Controller<T extends KubeObject = KubeObject> {
  readonly name: string;
  private readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  /** Ends a start() still waiting for the caches. */
  private readonly stopping = new AbortController();
  private workers: Promise<void>[] = [];
  private handlersAdded = false;

  constructor(
    private readonly options: ControllerOptions<T>,
    private readonly deps: ControllerDeps,
  ) {
    this.name = options.name;
    this.clock = deps.clock ?? systemClock;
    this.logger = (deps.logger ?? silentLogger).child({ controller: options.name });
    this.queue = new WorkQueue({
      name: options.name,
      clock: this.clock,
      rateLimiter: options.rateLimiter,
      metrics: deps.metrics,
    });
    // Create the informers now, so that a cache started before this controller (a standby waiting for
    // the lease) already keeps them warm.
    for (const type of this.watchedTypes()) deps.cache.informer(type);
  }

  /** Connects the event handlers, waits for the caches' first lists, then starts the workers. */
  async start(): Promise<void> {
    if (this.workers.length > 0 || this.queue.isShuttingDown) return;
    this.addHandlers();
    const synced = await Promise.all(
      this.watchedTypes().map((type) =>
        this.deps.cache
          .informer(type)
          .waitForSync(AbortSignal.any([this.abort.signal, this.stopping.signal])),
      ),
    );
    if (!synced.every(Boolean) || this.queue.isShuttingDown) return;
    const concurrency = Math.max(1, this.options.concurrency ?? 1);
    this.logger.info({ concurrency }, 'starting workers');
    this.workers = Array.from({ length: concurrency }, () => this.work());
  }

  /** Takes no new keys and resolves once every reconcile in flight has finished. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.queue.shutDown();
    await Promise.all(this.workers);
  }

  /** Stops at once: the reconciles in flight see their signal abort; nothing waits for them. */
  abortNow(reason: Error): void {
    this.abort.abort(reason);
    void this.queue.shutDown();
  }

  /** Queues `key` as if its object had changed. */
  enqueue(key: ObjectKey): void {
    this.queue.add(formatKey(key));
  }

  private watchedTypes(): ResourceType[] {
    return [
      this.options.for,
      ...(this.options.owns ?? []),
      ...(this.options.watches ?? []).map((w) => w.type),
    ];
  }

  private addHandlers(): void {
    if (this.handlersAdded) return;
    this.handlersAdded = true;
    const { cache } = this.deps;
    cache.informer(this.options.for).addHandler(this.handler((obj) => [objectKey(obj)]));
    for (const type of this.options.owns ?? []) {
      cache.informer(type).addHandler(this.handler((obj) => [controllerOwnerKey(obj, this.options.for)]));
    }
    for (const watch of this.options.watches ?? []) {
      cache.informer(watch.type).addHandler(this.handler((obj) => watch.map(obj)));
    }
  }

  /** Queues the keys `map` gives for an object, before and after an update (an owner may change). */
  private handler<O extends KubeObject>(map: (obj: O) => (ObjectKey | undefined)[]): EventHandler<O> {
    const enqueue = (obj: O) => {
      for (const key of map(obj)) if (key?.name) this.enqueue(key);
    };
    return {
      onAdd: enqueue,
      onUpdate: (previous: O, obj: O) => {
        enqueue(previous);
        enqueue(obj);
      },
      onDelete: enqueue,
    };
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcile(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcile(key: string): Promise<void> {
    const { metrics } = this.deps;
    const target = parseKey(key);
    const reconcileID = randomUUID();
    const logger = this.logger.child({ reconcileID, namespace: target.namespace, name: target.name });
    const started = this.clock.now();
    let result: 'success' | 'requeue_after' | 'error' | 'terminal_error';
    try {
      const outcome = await this.options.reconcile(target, {
        logger,
        reconcileID,
        signal: this.abort.signal,
      });
      this.queue.forget(key);
      const after = outcome?.requeueAfter ?? 0;
      if (after > 0) this.queue.addAfter(key, after);
      result = after > 0 ? 'requeue_after' : 'success';
    } catch (err) {
      metrics?.reconcileErrors.inc({ controller: this.name });
      if (hasCause(err, TerminalError)) {
        this.queue.forget(key);
        result = 'terminal_error';
        logger.error({ err }, 'reconcile failed; not retrying (terminal error)');
      } else {
        this.queue.addRateLimited(key);
        result = 'error';
        logger.warn({ err, retries: this.queue.retries(key) }, 'reconcile failed; retrying with back-off');
      }
    }
    metrics?.reconcileTotal.inc({ controller: this.name, result });
    metrics?.reconcileTime.observe({ controller: this.name }, (this.clock.now() - started) / 1000);
  }
}
