/**
 * EventRecorder: core/v1 Events about an object, as `kubectl describe` shows them. An event that
 * repeats (same object, type, reason and message) is not created again: the existing Event's `count`
 * and `lastTimestamp` go up, as client-go's recorder does. Recording never throws into the caller;
 * a failure is logged.
 */
import { isNotFound } from '../errors.js';
import type { KubeWriter } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { silentLogger, type Logger } from './logger.js';
import { Events, type Event, type KubeObject } from './resources.js';
import { rfc3339 } from './timestamps.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: Pick<KubeWriter, 'create' | 'patch'>;
  /** `source.component` and `reportingComponent`, e.g. `etcd-operator`. */
  component: string;
  /** `reportingInstance`, e.g. the pod name. */
  instance?: string;
  clock?: Clock;
  logger?: Logger;
  /** Repeated events remembered for aggregation (4096). */
  cacheSize?: number;
}

/** The API server refuses longer messages. */
const MAX_MESSAGE = 1024;

interface Recorded {
  namespace: string;
  name: string;
  count: number;
}

export class EventRecorder {
  private readonly recent = new Map<string, Recorded>();
  /** Writes per aggregation key run one after another, so that counts are not lost. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private sequence = 0n;

  constructor(private readonly options: EventRecorderOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /** Records an event about `obj`; resolves once it is written (or the failure logged). */
  event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const meta = obj.metadata ?? {};
    const key = JSON.stringify([
      obj.apiVersion,
      obj.kind,
      meta.namespace,
      meta.name,
      meta.uid,
      type,
      reason,
      text,
    ]);
    const previous = this.pending.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.write(key, obj, type, reason, text));
    this.pending.set(key, next);
    void next.finally(() => {
      if (this.pending.get(key) === next) this.pending.delete(key);
    });
    return next;
  }

  private async write(
    key: string,
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const now = rfc3339(this.clock.now());
    const seen = this.recent.get(key);
    try {
      if (seen) {
        try {
          await this.options.client.patch(Events, seen, {
            type: 'merge',
            body: { count: seen.count + 1, lastTimestamp: now },
          });
          seen.count++;
          this.remember(key, seen);
          return;
        } catch (err) {
          // The Event expired (the API server keeps them an hour): start a new one.
          if (!isNotFound(err)) throw err;
        }
      }
      const created = await this.options.client.create(
        Events,
        this.newEvent(obj, type, reason, message, now),
      );
      this.remember(key, {
        namespace: created.metadata?.namespace ?? '',
        name: created.metadata?.name ?? '',
        count: 1,
      });
    } catch (err) {
      this.logger.warn({ err, reason, object: obj.metadata?.name }, 'could not record an event');
    }
  }

  private newEvent(obj: KubeObject, type: EventType, reason: string, message: string, now: string): Event {
    const meta = obj.metadata ?? {};
    const { component, instance } = this.options;
    return {
      metadata: {
        // client-go's naming: the object's name and a hex timestamp in nanoseconds, here made unique
        // within a millisecond by a sequence number.
        name: `${meta.name ?? 'object'}.${(BigInt(this.clock.now()) * 1_000_000n + (this.sequence++ % 1_000_000n)).toString(16)}`,
        namespace: meta.namespace || 'default',
      },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component },
      reportingComponent: component,
      reportingInstance: instance ?? '',
    };
  }

  /** Least recently recorded first out. */
  private remember(key: string, recorded: Recorded): void {
    this.recent.delete(key);
    this.recent.set(key, recorded);
    const limit = this.options.cacheSize ?? 4096;
    for (const oldest of this.recent.keys()) {
      if (this.recent.size <= limit) break;
      this.recent.delete(oldest);
    }
  }
}
