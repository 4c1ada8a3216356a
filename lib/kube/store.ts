/**
 * The informer's cache: objects by key, indexed by namespace, owner UID and label, so that a
 * controller finds its children without scanning every object.
 */
import { formatKey, type ObjectKey } from './keys.js';
import { matchesLabelSelector, requiredLabels, type LabelSelector } from './labels.js';
import type { KubeObject } from './resources.js';

export interface StoreQuery {
  namespace?: string;
  labelSelector?: LabelSelector;
  /** Objects with an ownerReference to this UID. */
  ownerUid?: string;
}

export interface StoreReader<T> {
  get(key: ObjectKey): T | undefined;
  list(query?: StoreQuery): T[];
  /** Every key, `namespace/name`. */
  keys(): string[];
  readonly size: number;
}

class Index {
  private readonly sets = new Map<string, Set<string>>();

  add(value: string, key: string): void {
    let set = this.sets.get(value);
    if (!set) this.sets.set(value, (set = new Set()));
    set.add(key);
  }

  remove(value: string, key: string): void {
    const set = this.sets.get(value);
    set?.delete(key);
    if (set?.size === 0) this.sets.delete(value);
  }

  lookup(value: string): ReadonlySet<string> {
    return this.sets.get(value) ?? new Set();
  }
}

function indexValues(obj: KubeObject): { namespace: string; owners: string[]; labels: string[] } {
  const meta = obj.metadata ?? {};
  return {
    namespace: meta.namespace ?? '',
    owners: (meta.ownerReferences ?? []).map((ref) => ref.uid),
    labels: Object.entries(meta.labels ?? {}).map(([k, v]) => `${k}=${v}`),
  };
}

export class Store<T extends KubeObject> implements StoreReader<T> {
  private readonly objects = new Map<string, T>();
  private readonly namespaces = new Index();
  private readonly owners = new Index();
  private readonly labels = new Index();

  get size(): number {
    return this.objects.size;
  }

  get(key: ObjectKey): T | undefined {
    return this.objects.get(formatKey(key));
  }

  keys(): string[] {
    return [...this.objects.keys()];
  }

  list(query: StoreQuery = {}): T[] {
    const out: T[] = [];
    for (const key of this.candidates(query)) {
      const obj = this.objects.get(key);
      if (obj && matches(obj, query)) out.push(obj);
    }
    return out;
  }

  /** Stores `obj` under `key` and returns what it replaced. */
  set(key: string, obj: T): T | undefined {
    const previous = this.delete(key);
    this.objects.set(key, obj);
    const { namespace, owners, labels } = indexValues(obj);
    this.namespaces.add(namespace, key);
    for (const uid of owners) this.owners.add(uid, key);
    for (const label of labels) this.labels.add(label, key);
    return previous;
  }

  delete(key: string): T | undefined {
    const previous = this.objects.get(key);
    if (!previous) return undefined;
    this.objects.delete(key);
    const { namespace, owners, labels } = indexValues(previous);
    this.namespaces.remove(namespace, key);
    for (const uid of owners) this.owners.remove(uid, key);
    for (const label of labels) this.labels.remove(label, key);
    return previous;
  }

  /** The smallest index set that holds every match; every key when no index applies. */
  private candidates(query: StoreQuery): Iterable<string> {
    const sets: ReadonlySet<string>[] = [];
    if (query.ownerUid !== undefined) sets.push(this.owners.lookup(query.ownerUid));
    if (query.namespace !== undefined) sets.push(this.namespaces.lookup(query.namespace));
    for (const [k, v] of query.labelSelector ? requiredLabels(query.labelSelector) : []) {
      sets.push(this.labels.lookup(`${k}=${v}`));
    }
    if (sets.length === 0) return this.objects.keys();
    return sets.reduce((a, b) => (b.size < a.size ? b : a));
  }
}

function matches(obj: KubeObject, query: StoreQuery): boolean {
  const meta = obj.metadata ?? {};
  if (query.namespace !== undefined && (meta.namespace ?? '') !== query.namespace) return false;
  if (query.ownerUid !== undefined && !(meta.ownerReferences ?? []).some((r) => r.uid === query.ownerUid)) {
    return false;
  }
  return query.labelSelector === undefined || matchesLabelSelector(meta.labels, query.labelSelector);
}
