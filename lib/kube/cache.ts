/**
 * Cache: the informers a process shares, one per (kind, namespace-or-all, selector), and reads
 * served from them (controller-runtime's cache). Watching several namespaces means one informer per
 * namespace; a cluster-scoped kind, or all namespaces, means one informer.
 */
import { NotFoundError, UsageError } from '../errors.js';
import type { KubeClient, KubeReader, ListOptions, ObjectList, RequestOptions } from './client.js';
import type { ObjectKey } from './keys.js';
import { formatLabelSelector, type LabelSelector } from './labels.js';
import {
  clientSource,
  Informer,
  type EventHandler,
  type InformerOptions,
  type InformerScope,
  type ListWatchSource,
} from './informer.js';
import type { KubeObject, ResourceType } from './resources.js';
import type { StoreQuery } from './store.js';

/** Makes the list/watch source of one informer. */
export type SourceFactory = <T extends KubeObject>(
  type: ResourceType<T>,
  scope: InformerScope,
) => ListWatchSource<T>;

/** Informers fed by the API server through `client`. */
export function clientSources(client: KubeClient, watchTimeoutSeconds?: number): SourceFactory {
  return (type, scope) => clientSource(client, type, scope, watchTimeoutSeconds);
}

/** What every informer of the cache shares; see InformerOptions. */
export interface CacheOptions extends Omit<InformerOptions, 'name'> {
  sources: SourceFactory;
  /** The namespaces to watch; absent or empty: all of them. */
  namespaces?: readonly string[];
}

/** The informers of one kind and selector across the watched namespaces, read as one. */
export class InformerGroup<T extends KubeObject> {
  constructor(
    readonly type: ResourceType<T>,
    /** By namespace; '' holds the informer of all namespaces or of a cluster-scoped kind. */
    private readonly informers: ReadonlyMap<string, Informer<T>>,
  ) {}

  addHandler(handler: EventHandler<T>): void {
    for (const informer of this.informers.values()) informer.addHandler(handler);
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  get(key: ObjectKey): T | undefined {
    return this.informerFor(key.namespace).store.get(key);
  }

  list(query: StoreQuery = {}): T[] {
    const informers =
      query.namespace === undefined ? [...this.informers.values()] : [this.informerFor(query.namespace)];
    return informers.flatMap((i) => i.store.list(query));
  }

  start(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  private informerFor(namespace: string): Informer<T> {
    const informer = this.informers.get(this.type.namespaced ? namespace : '') ?? this.informers.get('');
    if (!informer) throw new UsageError(`namespace "${namespace}" is not watched`);
    return informer;
  }
}

export interface CacheListOptions extends ListOptions {
  /** Only objects with an ownerReference to this UID. */
  ownerUid?: string;
}

export class Cache implements KubeReader {
  private readonly groups = new Map<string, InformerGroup<KubeObject>>();
  private started = false;

  constructor(private readonly options: CacheOptions) {}

  /** The shared informers of `type` (restricted to `labelSelector`), started if the cache runs. */
  informer<T extends KubeObject>(type: ResourceType<T>, labelSelector?: LabelSelector): InformerGroup<T> {
    const selector = labelSelector && formatLabelSelector(labelSelector);
    const id = `${type.apiVersion}/${type.kind}?${selector ?? ''}`;
    let group = this.groups.get(id) as InformerGroup<T> | undefined;
    if (!group) {
      const namespaces = type.namespaced && this.options.namespaces?.length ? this.options.namespaces : [''];
      const informers = new Map(
        namespaces.map((ns) => [ns, this.newInformer(type, { namespace: ns || undefined, labelSelector })]),
      );
      group = new InformerGroup(type, informers);
      this.groups.set(id, group);
      if (this.started) group.start();
    }
    return group;
  }

  start(): void {
    this.started = true;
    for (const group of this.groups.values()) group.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.groups.values()].map((g) => g.stop()));
  }

  hasSynced(): boolean {
    return [...this.groups.values()].every((g) => g.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.groups.values()].map((g) => g.waitForSync(signal)));
    return results.every(Boolean);
  }

  /** The cached object; a NotFoundError when the cache has none. Waits for the kind's first list. */
  async get<T extends KubeObject>(
    type: ResourceType<T>,
    key: ObjectKey,
    options: RequestOptions = {},
  ): Promise<T> {
    const group = await this.synced(type, options.signal);
    const obj = group.get(key);
    if (!obj) throw new NotFoundError(`${type.plural} "${key.name}" not found in the cache`);
    return obj;
  }

  /** The cached objects that match; `fieldSelector` is not supported here. */
  async list<T extends KubeObject>(
    type: ResourceType<T>,
    options: CacheListOptions = {},
  ): Promise<ObjectList<T>> {
    if (options.fieldSelector) throw new UsageError('the cache cannot filter by field selector');
    const group = await this.synced(type, options.signal);
    const items = group.list({
      namespace: options.namespace,
      labelSelector: options.labelSelector,
      ownerUid: options.ownerUid,
    });
    return { items, resourceVersion: '' };
  }

  private async synced<T extends KubeObject>(
    type: ResourceType<T>,
    signal?: AbortSignal,
  ): Promise<InformerGroup<T>> {
    const group = this.informer(type);
    if (!this.started) throw new UsageError('the cache is not started');
    if (!(await group.waitForSync(signal)))
      throw new UsageError(`the cache of ${type.plural} stopped before it synced`);
    return group;
  }

  private newInformer<T extends KubeObject>(type: ResourceType<T>, scope: InformerScope): Informer<T> {
    const { sources, namespaces: _, ...common } = this.options;
    const selector = scope.labelSelector ? `?${formatLabelSelector(scope.labelSelector)}` : '';
    return new Informer(sources(type, scope), {
      ...common,
      name: `${type.plural}/${scope.namespace ?? '*'}${selector}`,
    });
  }
}
