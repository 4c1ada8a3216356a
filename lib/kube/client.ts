/**
 * KubeClient: typed reads and writes of any kind, as plain JSON over the KubeConfig it is given.
 * Split like controller-runtime's client into a reader, a writer and a status writer, so that code
 * can ask for no more than it uses (the cache is another KubeReader-like source).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { UnavailableError, UsageError } from '../errors.js';
import { apiError, asStatus } from './api-errors.js';
import type { ObjectKey } from './keys.js';
import { formatLabelSelector, type LabelSelector } from './labels.js';
import { resourcePath, type KubeObject, type ResourceType } from './resources.js';
import { Transport, type HttpRequest, type TransportOptions } from './transport.js';

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends RequestOptions {
  /** Absent: every namespace. */
  namespace?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: string;
  /** Objects per page; the client follows `continue` until the list is whole (500). */
  pageSize?: number;
}

export interface ObjectList<T> {
  items: T[];
  /** The list's resourceVersion: watch from here to see every later change. */
  resourceVersion: string;
}

export interface WriteOptions extends RequestOptions {
  /** Who makes the change, as recorded in managedFields. */
  fieldManager?: string;
  /** Validate and default, but store nothing. */
  dryRun?: boolean;
}

export interface ApplyOptions extends RequestOptions {
  /** Server-side apply owns fields per manager: there is no default. */
  fieldManager: string;
  /** Take over fields another manager owns instead of failing with a conflict. */
  force?: boolean;
  dryRun?: boolean;
  subresource?: 'status';
}

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

export type Patch =
  | { type: 'merge'; body: unknown }
  | { type: 'strategic'; body: unknown }
  | { type: 'json'; ops: JsonPatchOperation[] };

export interface PatchOptions extends WriteOptions {
  subresource?: 'status' | 'scale';
}

export interface DeleteOptions extends RequestOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Delete only the object with this uid / at this resourceVersion; otherwise a ConflictError. */
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface WatchOptions extends ListOptions {
  resourceVersion: string;
  /** The server ends the watch after this long; the caller watches again from the last version. */
  timeoutSeconds?: number;
}

export type WatchEvent<T> =
  { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T } | { type: 'BOOKMARK'; object: KubeObject };

/** autoscaling/v1 Scale. */
export interface Scale extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas: number; selector?: string };
}

export interface KubeReader {
  get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey, options?: RequestOptions): Promise<T>;
  list<T extends KubeObject>(type: ResourceType<T>, options?: ListOptions): Promise<ObjectList<T>>;
}

export interface KubeWriter {
  create<T extends KubeObject>(type: ResourceType<T>, obj: T, options?: WriteOptions): Promise<T>;
  update<T extends KubeObject>(type: ResourceType<T>, obj: T, options?: WriteOptions): Promise<T>;
  patch<T extends KubeObject>(
    type: ResourceType<T>,
    key: ObjectKey,
    patch: Patch,
    options?: PatchOptions,
  ): Promise<T>;
  apply<T extends KubeObject>(type: ResourceType<T>, obj: T, options: ApplyOptions): Promise<T>;
  delete(type: ResourceType, key: ObjectKey, options?: DeleteOptions): Promise<void>;
}

export interface KubeStatusWriter {
  updateStatus<T extends KubeObject>(type: ResourceType<T>, obj: T, options?: WriteOptions): Promise<T>;
}

const PATCH_CONTENT_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
} as const;

const DEFAULT_PAGE_SIZE = 500;

export type KubeClientOptions = TransportOptions;

export class KubeClient implements KubeReader, KubeWriter, KubeStatusWriter {
  private readonly transport: Transport;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.transport = new Transport(kubeConfig, options);
  }

  /** The API server's URL. */
  get server(): string {
    return this.transport.server;
  }

  async get<T extends KubeObject>(
    type: ResourceType<T>,
    key: ObjectKey,
    options: RequestOptions = {},
  ): Promise<T> {
    return (await this.request({ method: 'GET', path: objectPath(type, key), signal: options.signal })) as T;
  }

  async list<T extends KubeObject>(type: ResourceType<T>, options: ListOptions = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let resourceVersion: string;
    let token: string | undefined;
    do {
      const page = (await this.request({
        method: 'GET',
        path: resourcePath(type, { namespace: options.namespace }),
        query: { ...selectors(options), limit: options.pageSize ?? DEFAULT_PAGE_SIZE, continue: token },
        signal: options.signal,
      })) as { items?: T[]; metadata?: { resourceVersion?: string; continue?: string } };
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? '';
      token = page.metadata?.continue || undefined;
    } while (token !== undefined);
    return { items, resourceVersion };
  }

  async create<T extends KubeObject>(type: ResourceType<T>, obj: T, options: WriteOptions = {}): Promise<T> {
    return (await this.request({
      method: 'POST',
      path: resourcePath(type, { namespace: namespaceOf(type, obj) }),
      query: writeQuery(options),
      body: withTypeMeta(type, obj),
      signal: options.signal,
    })) as T;
  }

  async update<T extends KubeObject>(type: ResourceType<T>, obj: T, options: WriteOptions = {}): Promise<T> {
    return this.put(type, obj, undefined, options);
  }

  async updateStatus<T extends KubeObject>(
    type: ResourceType<T>,
    obj: T,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.put(type, obj, 'status', options);
  }

  async patch<T extends KubeObject>(
    type: ResourceType<T>,
    key: ObjectKey,
    patch: Patch,
    options: PatchOptions = {},
  ): Promise<T> {
    return (await this.request({
      method: 'PATCH',
      path: objectPath(type, key, options.subresource),
      query: writeQuery(options),
      body: patch.type === 'json' ? patch.ops : patch.body,
      contentType: PATCH_CONTENT_TYPES[patch.type],
      signal: options.signal,
    })) as T;
  }

  /** Server-side apply: the object holds exactly the fields this manager wants to own. */
  async apply<T extends KubeObject>(type: ResourceType<T>, obj: T, options: ApplyOptions): Promise<T> {
    if (!options.fieldManager) throw new UsageError('server-side apply needs a field manager');
    return (await this.request({
      method: 'PATCH',
      path: objectPath(type, keyOf(type, obj), options.subresource),
      query: { ...writeQuery(options), force: options.force || undefined },
      // JSON is YAML: the apply content type takes either.
      body: withTypeMeta(type, obj),
      contentType: 'application/apply-patch+yaml',
      signal: options.signal,
    })) as T;
  }

  async delete(type: ResourceType, key: ObjectKey, options: DeleteOptions = {}): Promise<void> {
    await this.request({
      method: 'DELETE',
      path: objectPath(type, key),
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: options.propagationPolicy,
        preconditions: options.preconditions,
        gracePeriodSeconds: options.gracePeriodSeconds,
        dryRun: options.dryRun ? ['All'] : undefined,
      },
      signal: options.signal,
    });
  }

  async getScale(type: ResourceType, key: ObjectKey, options: RequestOptions = {}): Promise<Scale> {
    return (await this.request({
      method: 'GET',
      path: objectPath(type, key, 'scale'),
      signal: options.signal,
    })) as Scale;
  }

  /** Sets the replicas of the scale subresource (`kubectl scale`). */
  async scale(
    type: ResourceType,
    key: ObjectKey,
    replicas: number,
    options: WriteOptions = {},
  ): Promise<Scale> {
    return this.patch(
      type,
      key,
      { type: 'merge', body: { spec: { replicas } } },
      {
        ...options,
        subresource: 'scale',
      },
    );
  }

  /**
   * Streams the changes after `resourceVersion` to `onEvent` until the server ends the watch
   * (resolves) or it fails (rejects with a typed error: GoneError when the version is too old).
   * An aborted signal ends it quietly.
   */
  async watch<T extends KubeObject>(
    type: ResourceType<T>,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const req: HttpRequest = {
      method: 'GET',
      path: resourcePath(type, { namespace: options.namespace }),
      query: {
        ...selectors(options),
        watch: true,
        resourceVersion: options.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: options.timeoutSeconds,
      },
      signal: options.signal,
      // The server sends nothing while nothing changes; it ends the watch itself after timeoutSeconds.
      idleTimeoutMs: ((options.timeoutSeconds ?? 1800) + 30) * 1000,
    };
    try {
      await this.transport.lines(req, (line) => onEvent(parseWatchEvent<T>(line, req)));
    } catch (err) {
      if (!options.signal?.aborted) throw err;
    }
  }

  /** Closes idle connections; requests still work afterwards. */
  close(): void {
    this.transport.close();
  }

  private async put<T extends KubeObject>(
    type: ResourceType<T>,
    obj: T,
    subresource: 'status' | undefined,
    options: WriteOptions,
  ): Promise<T> {
    return (await this.request({
      method: 'PUT',
      path: objectPath(type, keyOf(type, obj), subresource),
      query: writeQuery(options),
      body: withTypeMeta(type, obj),
      signal: options.signal,
    })) as T;
  }

  private request(req: HttpRequest): Promise<unknown> {
    return this.transport.json(req);
  }
}

function parseWatchEvent<T>(line: string, req: HttpRequest): WatchEvent<T> {
  let event: { type?: string; object?: unknown };
  try {
    event = JSON.parse(line) as typeof event;
  } catch (err) {
    throw new UnavailableError(`a watch of ${req.path} sent a line that is not JSON`, { cause: err });
  }
  if (event.type === 'ERROR') {
    const status = asStatus(event.object);
    throw apiError(status?.code ?? 500, event.object, `watch ${req.path}`);
  }
  return event as WatchEvent<T>;
}

function selectors(options: ListOptions): Record<string, string | undefined> {
  const label = options.labelSelector && formatLabelSelector(options.labelSelector);
  return { labelSelector: label || undefined, fieldSelector: options.fieldSelector || undefined };
}

function writeQuery(options: WriteOptions): Record<string, string | undefined> {
  return { fieldManager: options.fieldManager || undefined, dryRun: options.dryRun ? 'All' : undefined };
}

function namespaceOf(type: ResourceType, obj: KubeObject): string | undefined {
  const namespace = obj.metadata?.namespace;
  if (type.namespaced && !namespace) throw new UsageError(`a ${type.kind} needs metadata.namespace`);
  return type.namespaced ? namespace : undefined;
}

function keyOf(type: ResourceType, obj: KubeObject): ObjectKey {
  const name = obj.metadata?.name;
  if (!name) throw new UsageError(`a ${type.kind} needs metadata.name`);
  return { namespace: namespaceOf(type, obj) ?? '', name };
}

function objectPath(type: ResourceType, key: ObjectKey, subresource?: string): string {
  if (!key.name) throw new UsageError(`a ${type.kind} needs a name`);
  if (type.namespaced && !key.namespace) throw new UsageError(`a ${type.kind} needs a namespace`);
  return resourcePath(type, { namespace: key.namespace, name: key.name, subresource });
}

/** apiVersion and kind, which callers building objects by hand often leave out. */
function withTypeMeta<T extends KubeObject>(type: ResourceType, obj: T): T {
  return { ...obj, apiVersion: obj.apiVersion ?? type.apiVersion, kind: obj.kind ?? type.kind };
}
