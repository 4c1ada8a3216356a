/**
 * In-memory storage: objects by resource and `namespace/name`, one monotonic resourceVersion across
 * every kind, and a change feed. Stored objects are never mutated: writers hand over a fresh object
 * and readers clone before changing one.
 */
import type { KubeObject } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** The resource's storage key (`group/plural`). */
  key: string;
  object: KubeObject;
  /** The object before a MODIFIED or DELETED change. */
  previous?: KubeObject;
  rv: number;
}

const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export class Store {
  private rv = 1;
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private readonly listeners: ((e: StoreEvent) => void)[] = [];

  get resourceVersion(): number {
    return this.rv;
  }

  onChange(listener: (e: StoreEvent) => void): void {
    this.listeners.push(listener);
  }

  get(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.data.get(key)?.get(objectKey(namespace, name));
  }

  /** Objects of a resource (in one namespace when given), ordered by namespace and name. */
  list(key: string, namespace?: string): KubeObject[] {
    const all = [...(this.data.get(key)?.entries() ?? [])];
    const picked = namespace === undefined ? all : all.filter(([, o]) => o.metadata.namespace === namespace);
    return picked.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  /** Every stored object with its resource key. */
  *entries(): Generator<[string, KubeObject]> {
    for (const [key, objects] of this.data) for (const o of objects.values()) yield [key, o];
  }

  /** Stores `object` (now owned by the store) with the next resourceVersion. */
  put(key: string, object: KubeObject): KubeObject {
    const name = object.metadata.name ?? '';
    let objects = this.data.get(key);
    if (!objects) this.data.set(key, (objects = new Map<string, KubeObject>()));
    const id = objectKey(object.metadata.namespace, name);
    const previous = objects.get(id);
    const rv = ++this.rv;
    object.metadata.resourceVersion = String(rv);
    objects.set(id, object);
    this.emit({ type: previous ? 'MODIFIED' : 'ADDED', key, object, previous, rv });
    return object;
  }

  /** Removes an object; the DELETED event carries it with a new resourceVersion, as etcd's delete revision. */
  remove(key: string, object: KubeObject): KubeObject {
    const id = objectKey(object.metadata.namespace, object.metadata.name ?? '');
    const previous = this.data.get(key)?.get(id);
    if (!previous) return object;
    this.data.get(key)?.delete(id);
    const rv = ++this.rv;
    const gone = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(rv) } };
    this.emit({ type: 'DELETED', key, object: gone, previous, rv });
    return gone;
  }

  private emit(e: StoreEvent): void {
    for (const l of this.listeners) l(e);
  }
}
