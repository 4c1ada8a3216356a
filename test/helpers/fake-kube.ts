/**
 * Fakes for the lib/kube runtime's unit tests: a clock that moves only when told, an in-memory
 * list/watch source whose watches the test drives, and an in-memory object store with the API
 * server's optimistic concurrency for the clients of leader election, events and finalizers.
 */
import { ConflictError, AlreadyExistsError, NotFoundError } from '../../lib/errors.js';
import type { Clock, KubeObject, ListWatchSource, ObjectList, WatchEvent } from '../../lib/kube/index.js';

/** Lets every pending promise callback run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  /** Every delay passed to setTimeout, in order. */
  readonly delays: number[] = [];

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.delays.push(ms);
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      const next = [...this.timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      const [id, timer] = next;
      this.timers.delete(id);
      this.time = Math.max(this.time, timer.at);
      timer.fn();
      await settle();
    }
    this.time = end;
    await settle();
  }
}

/** One watch the informer opened, which the test feeds and ends. */
export interface OpenWatch<T> {
  resourceVersion: string;
  send(event: WatchEvent<T>): void;
  /** Ends the watch as the server does after timeoutSeconds. */
  close(): void;
  fail(err: Error): void;
}

/** A list/watch source driven by the test. */
export class FakeSource<T extends KubeObject> implements ListWatchSource<T> {
  /** What the next list returns (or throws). */
  listResult: ObjectList<T> | Error = { items: [], resourceVersion: '1' };
  lists = 0;
  readonly watches: OpenWatch<T>[] = [];
  /** When set, each watch fails at once with this error. */
  watchError: Error | undefined;
  private waiters: (() => void)[] = [];

  list(): Promise<ObjectList<T>> {
    this.lists++;
    const result = this.listResult;
    return result instanceof Error ? Promise.reject(result) : Promise.resolve(structuredClone(result));
  }

  watch(
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const watch: OpenWatch<T> = {
        resourceVersion,
        send: (event) => onEvent(event),
        close: () => resolve(),
        fail: (err) => reject(err),
      };
      this.watches.push(watch);
      for (const waiter of this.waiters.splice(0)) waiter();
      signal.addEventListener('abort', () => resolve(), { once: true });
      if (this.watchError) reject(this.watchError);
    });
  }

  /** The watch the informer has open now (the last one opened). */
  get current(): OpenWatch<T> {
    const watch = this.watches.at(-1);
    if (!watch) throw new Error('no watch is open');
    return watch;
  }
}

export function configMap(
  name: string,
  resourceVersion: string,
  extra: Partial<KubeObject['metadata']> = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', resourceVersion, uid: `uid-${name}`, ...extra },
  } satisfies KubeObject;
}

/**
 * Objects kept in memory with resourceVersions and the API server's answers to get/create/update/
 * merge patch (with its resourceVersion precondition): enough for leases, events and finalizers.
 */
export class MemoryClient {
  readonly objects = new Map<string, KubeObject & Record<string, unknown>>();
  readonly calls: { verb: string; name: string; body?: unknown }[] = [];
  private version = 0;
  /** When set, every call fails with it. */
  failWith: Error | undefined;

  private key(namespace: string | undefined, name: string | undefined): string {
    return `${namespace ?? ''}/${name ?? ''}`;
  }

  private check(verb: string, name: string | undefined, body?: unknown): void {
    this.calls.push({ verb, name: name ?? '', body });
    if (this.failWith) throw this.failWith;
  }

  private store<T extends KubeObject>(obj: T): T {
    const stored = structuredClone(obj) as KubeObject & Record<string, unknown>;
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.version) };
    this.objects.set(this.key(stored.metadata.namespace, stored.metadata.name), stored);
    return structuredClone(stored) as unknown as T;
  }

  async get<T extends KubeObject>(_type: unknown, key: { namespace: string; name: string }): Promise<T> {
    this.check('get', key.name);
    const obj = this.objects.get(this.key(key.namespace, key.name));
    if (!obj) throw new NotFoundError(`"${key.name}" not found`);
    return structuredClone(obj) as unknown as T;
  }

  async create<T extends KubeObject>(_type: unknown, obj: T): Promise<T> {
    this.check('create', obj.metadata?.name, obj);
    if (this.objects.has(this.key(obj.metadata?.namespace, obj.metadata?.name))) {
      throw new AlreadyExistsError(`"${obj.metadata?.name}" already exists`);
    }
    return this.store(obj);
  }

  async update<T extends KubeObject>(_type: unknown, obj: T): Promise<T> {
    this.check('update', obj.metadata?.name, obj);
    const current = this.objects.get(this.key(obj.metadata?.namespace, obj.metadata?.name));
    if (!current) throw new NotFoundError(`"${obj.metadata?.name}" not found`);
    if (obj.metadata?.resourceVersion && obj.metadata.resourceVersion !== current.metadata?.resourceVersion) {
      throw new ConflictError(`"${obj.metadata.name}" was modified`);
    }
    return this.store(obj);
  }

  async patch<T extends KubeObject>(
    _type: unknown,
    key: { namespace: string; name: string },
    patch: { type: string; body?: unknown },
  ): Promise<T> {
    this.check('patch', key.name, patch);
    const current = this.objects.get(this.key(key.namespace, key.name));
    if (!current) throw new NotFoundError(`"${key.name}" not found`);
    if (patch.type !== 'merge') throw new Error(`MemoryClient cannot apply a ${patch.type} patch`);
    const wanted = (patch.body as KubeObject).metadata?.resourceVersion;
    if (wanted && wanted !== current.metadata?.resourceVersion)
      throw new ConflictError(`"${key.name}" was modified`);
    return this.store(mergePatch(current, patch.body) as KubeObject) as T;
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
