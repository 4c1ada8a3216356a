/**
 * The watch cache: a bounded history of changes for resuming watches, and fan-out to open watches.
 * A watch that asks to resume from a version older than the history answers 410 Gone, as a real
 * server does after etcd compaction; `compact()` forces that for every version before now.
 */
import type { Predicate } from './selectors.js';
import { gone } from './status.js';
import type { EventType, StoreEvent } from './store.js';
import type { KubeObject } from './types.js';

export interface WatchEvent {
  type: EventType;
  object: KubeObject;
}

export interface Subscription {
  key: string;
  namespace?: string;
  predicate: Predicate;
  bookmarks: boolean;
  send(event: WatchEvent): void;
  /** Sends a BOOKMARK at `rv`. */
  bookmark(rv: number): void;
  /** Ends the watch: `abrupt` destroys the connection instead of ending the response. */
  close(abrupt?: boolean): void;
}

export class WatchHub {
  private readonly history: StoreEvent[] = [];
  /** Events with rv <= this are no longer in the history. */
  private compactedThrough = 0;
  private readonly subscriptions = new Set<Subscription>();

  constructor(
    private readonly window: number,
    private readonly currentRV: () => number,
  ) {}

  get open(): number {
    return this.subscriptions.size;
  }

  record(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > this.window) {
      const dropped = this.history.splice(0, this.history.length - this.window);
      this.compactedThrough = dropped[dropped.length - 1]?.rv ?? this.compactedThrough;
    }
    for (const s of this.subscriptions) {
      const event = matchEvent(s, e);
      if (event) s.send(event);
    }
  }

  /**
   * Subscribes from `fromRV` (the events after it are replayed first). Throws 410 Gone when
   * events after `fromRV` have been compacted away.
   */
  subscribe(s: Subscription, fromRV: number): void {
    if (fromRV < this.compactedThrough) {
      throw gone(`too old resource version: ${fromRV} (${this.compactedThrough + 1})`);
    }
    for (const e of this.history) {
      if (e.rv <= fromRV) continue;
      const event = matchEvent(s, e);
      if (event) s.send(event);
    }
    this.subscriptions.add(s);
  }

  unsubscribe(s: Subscription): void {
    this.subscriptions.delete(s);
  }

  /** Forgets every event before now: resuming from any older version answers 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compactedThrough = this.currentRV();
  }

  /** Closes every open watch (clients resume from their last version). */
  dropAll(abrupt = false): number {
    const all = [...this.subscriptions];
    this.subscriptions.clear();
    for (const s of all) s.close(abrupt);
    return all.length;
  }

  bookmarkAll(): void {
    const rv = this.currentRV();
    for (const s of this.subscriptions) if (s.bookmarks) s.bookmark(rv);
  }
}

/**
 * The event a subscription sees: an object that starts or stops matching its selectors is ADDED or
 * DELETED for it, as the real watch cache reports it.
 */
function matchEvent(s: Subscription, e: StoreEvent): WatchEvent | undefined {
  if (e.key !== s.key) return undefined;
  if (s.namespace !== undefined && e.object.metadata.namespace !== s.namespace) return undefined;
  const now = s.predicate(e.object);
  if (e.type !== 'MODIFIED' || !e.previous) return now ? { type: e.type, object: e.object } : undefined;
  const before = s.predicate(e.previous);
  if (now && before) return { type: 'MODIFIED', object: e.object };
  if (now) return { type: 'ADDED', object: e.object };
  if (before) return { type: 'DELETED', object: e.object };
  return undefined;
}
