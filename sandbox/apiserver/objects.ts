/**
 * The object operations of the REST API, apart from HTTP: get, list, create, update (main resource,
 * status, scale), patch, server-side apply and delete, with the real server's semantics (uid,
 * resourceVersion, generation, optimistic concurrency, finalizers, pod grace periods, namespace
 * scoping) and its error answers.
 */
import { isDeepStrictEqual } from 'node:util';
import { ValidationError } from '../../lib/errors.js';
import type { AdmissionHook } from './admission.js';
import { crdProblems, crdResourceDefs, crdStatus } from './crd.js';
import { conflictMessage, managerName, recordUpdate, serverSideApply } from './managed-fields.js';
import {
  canonical,
  creationDefaults,
  generatedName,
  metadataProblems,
  newUid,
  pruneUnknownFields,
  specChanged,
} from './metadata.js';
import { builtinMergeKeys, jsonPatch, mergePatch, strategicMergePatch, type MergeKeys } from './patch.js';
import type { Registry } from './registry.js';
import { apiVersionOf, selectableFields, storageKey, type ResourceDef } from './resources.js';
import { toCauses } from './schema.js';
import { fieldPredicate, parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  qualified,
  unsupportedMediaType,
  type GroupResource,
} from './status.js';
import type { Store } from './store.js';
import type { KubeObject, UserInfo } from './types.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** What one request brings besides its body, and where its warnings go. */
export interface WriteContext {
  user: UserInfo;
  fieldManager: string;
  fieldValidation: FieldValidation;
  dryRun: boolean;
  warnings: string[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const gr = (def: ResourceDef): GroupResource => ({ group: def.group, resource: def.plural });
const clone = <T>(v: T): T => structuredClone(v);

export class Objects {
  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly admission: AdmissionHook[],
    private readonly now: () => Date,
  ) {}

  private timestamp(): string {
    return this.now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const object = this.store.get(storageKey(def), def.namespaced ? namespace : undefined, name);
    if (!object) throw notFound(gr(def), name);
    return object;
  }

  /** A consistent page of matching objects; `continue` tokens name the last key and the list's version. */
  list(def: ResourceDef, namespace: string | undefined, options: ListOptions) {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = fieldPredicate(parseFieldSelector(options.fieldSelector), selectableFields(def));
    let items = this.store
      .list(storageKey(def), def.namespaced ? namespace : undefined)
      .filter((o) => labels(o) && fields(o));
    let resourceVersion = String(this.store.resourceVersion);
    if (options.continue) {
      const token = decodeContinue(options.continue);
      resourceVersion = token.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > token.start);
    }
    let next: string | undefined;
    if (options.limit && options.limit > 0 && items.length > options.limit) {
      items = items.slice(0, options.limit);
      const last = items[items.length - 1];
      next = encodeContinue(
        resourceVersion,
        `${last?.metadata.namespace ?? ''}/${last?.metadata.name ?? ''}`,
      );
    }
    return { items, resourceVersion, continue: next, remaining: next ? undefined : 0 };
  }

  create(def: ResourceDef, namespace: string | undefined, body: KubeObject, ctx: WriteContext): KubeObject {
    const object = clone(body);
    object.metadata ??= {};
    this.checkIdentity(def, object, namespace, undefined);
    if (!object.metadata.name && object.metadata.generateName) {
      object.metadata.name = generatedName(object.metadata.generateName);
    }
    const name = object.metadata.name ?? '';
    if (def.namespaced) this.checkNamespaceOpen(def, namespace ?? '', name);
    if (this.store.get(storageKey(def), object.metadata.namespace, name)) throw alreadyExists(gr(def), name);
    const meta = object.metadata;
    for (const key of [
      'uid',
      'resourceVersion',
      'generation',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'managedFields',
    ]) {
      delete meta[key];
    }
    meta.uid = newUid();
    meta.creationTimestamp = this.timestamp();
    if (def.generation) meta.generation = 1;
    if (def.status && def.schema) delete object.status;
    creationDefaults(def, object);
    this.validate(def, object, ctx);
    const admitted = this.admit(def, 'CREATE', object, undefined, ctx);
    if (def.kind === 'CustomResourceDefinition') admitted.status = crdStatus(admitted, this.timestamp());
    admitted.metadata.managedFields = recordUpdate(
      undefined,
      admitted,
      this.owner(def, ctx, 'Update'),
      this.mergeKeys(def),
    );
    return this.commit(def, undefined, admitted, ctx);
  }

  /** PUT of the main resource or of `status`. */
  update(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    ctx: WriteContext,
    subresource?: 'status',
  ): KubeObject {
    const object = clone(body);
    object.metadata ??= {};
    this.checkIdentity(def, object, namespace, name);
    const previous = this.store.get(storageKey(def), object.metadata.namespace, name);
    if (!previous) throw notFound(gr(def), name);
    const rv = object.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      if (def.schema) {
        throw invalid(
          { group: def.group, kind: def.plural },
          name,
          [
            {
              reason: 'FieldValueInvalid',
              message: 'Invalid value: 0: must be specified for an update',
              field: 'metadata.resourceVersion',
            },
          ],
          qualified(gr(def)),
        );
      }
    } else if (rv !== previous.metadata.resourceVersion) throw conflict(gr(def), name);
    return this.replace(def, previous, object, ctx, subresource, 'Update');
  }

  /** Writes `object` over `previous`, keeping what the request may not change. */
  private replace(
    def: ResourceDef,
    previous: KubeObject,
    object: KubeObject,
    ctx: WriteContext,
    subresource: 'status' | undefined,
    operation: 'Update' | 'Apply',
  ): KubeObject {
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...clone(previous), status: object.status };
      if (object.status === undefined) delete next.status;
    } else {
      next = object;
      if (def.status) {
        if (previous.status === undefined) delete next.status;
        else next.status = clone(previous.status);
      }
    }
    const meta = next.metadata;
    for (const key of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ] as const) {
      if (previous.metadata[key] === undefined) delete meta[key];
      else meta[key] = previous.metadata[key] as never;
    }
    const added = (meta.finalizers ?? []).filter((f) => !(previous.metadata.finalizers ?? []).includes(f));
    if (previous.metadata.deletionTimestamp && added.length > 0) {
      const found = `[]string{${added.map((f) => JSON.stringify(f)).join(', ')}}`;
      throw invalid({ group: def.group, kind: def.kind }, meta.name ?? '', [
        {
          reason: 'FieldValueForbidden',
          message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${found}`,
          field: 'metadata.finalizers',
        },
      ]);
    }
    if (subresource === undefined) {
      this.validate(def, next, ctx);
      next = this.admit(def, 'UPDATE', next, previous, ctx);
      if (def.kind === 'CustomResourceDefinition') next.status = crdStatus(next, this.timestamp());
    } else if (def.schema) {
      this.validate(def, next, ctx);
    }
    if (def.generation && specChanged(previous, next))
      meta.generation = (previous.metadata.generation ?? 1) + 1;
    if (operation === 'Update') {
      meta.managedFields = recordUpdate(
        previous,
        next,
        this.owner(def, ctx, 'Update', subresource),
        this.mergeKeys(def),
      );
    }
    // A write that changes nothing (ownership times aside) keeps the resourceVersion, as on a real server.
    const comparable = (o: KubeObject) => ({
      ...o,
      metadata: {
        ...o.metadata,
        resourceVersion: undefined,
        managedFields: o.metadata.managedFields?.map((e) => ({ ...e, time: '' })),
      },
    });
    const unchanged = isDeepStrictEqual(comparable(next), comparable(previous));
    if (unchanged) return previous;
    return this.commit(def, previous, next, ctx);
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    contentType: string,
    body: unknown,
    ctx: WriteContext & { force: boolean },
    subresource?: 'status',
  ): { object: KubeObject; created: boolean } {
    const previous = this.store.get(storageKey(def), def.namespaced ? namespace : undefined, name);
    if (contentType === PATCH_TYPES.apply)
      return this.apply(def, namespace, name, previous, body, ctx, subresource);
    if (!previous) throw notFound(gr(def), name);
    const object = this.patchDocument(previous, contentType, body, def.strategicMerge);
    const rv = object.metadata.resourceVersion;
    if (rv !== undefined && rv !== previous.metadata.resourceVersion) throw conflict(gr(def), name);
    this.checkIdentity(def, object, namespace, name);
    return { object: this.replace(def, previous, object, ctx, subresource, 'Update'), created: false };
  }

  /** Applies a JSON, merge or (for built-in kinds) strategic merge patch to a document. */
  patchDocument(document: KubeObject, contentType: string, body: unknown, strategic: boolean): KubeObject {
    let patched: unknown;
    if (contentType === PATCH_TYPES.json) patched = jsonPatch(document, body);
    else if (contentType === PATCH_TYPES.merge) patched = mergePatch(clone(document), body);
    else if (contentType === PATCH_TYPES.strategic && strategic)
      patched = strategicMergePatch(clone(document), body);
    else if (!Object.values(PATCH_TYPES).includes(contentType as never)) {
      throw new ApiError(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});
    } else {
      const accepted: string[] = [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply];
      if (strategic) accepted.splice(2, 0, PATCH_TYPES.strategic);
      throw unsupportedMediaType(accepted);
    }
    const object = patched as KubeObject;
    if (typeof object !== 'object' || object === null || Array.isArray(object))
      throw badRequest('the patch did not produce an object');
    object.metadata ??= {};
    return object;
  }

  private apply(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    previous: KubeObject | undefined,
    body: unknown,
    ctx: WriteContext & { force: boolean },
    subresource?: 'status',
  ): { object: KubeObject; created: boolean } {
    const config = body as KubeObject;
    if (typeof config !== 'object' || config === null || Array.isArray(config))
      throw badRequest('the apply configuration must be an object');
    config.metadata ??= {};
    if (!config.apiVersion || !config.kind) {
      const [group, version] = (config.apiVersion ?? '').includes('/')
        ? (config.apiVersion ?? '').split('/')
        : ['', config.apiVersion ?? ''];
      throw badRequest(`invalid object type: ${group ?? ''}/${version ?? ''}, Kind=${config.kind ?? ''}`);
    }
    this.checkIdentity(def, config, namespace, name);
    const owner = this.owner(def, ctx, 'Apply', subresource);
    const result = serverSideApply(previous, config, owner, this.mergeKeys(def), ctx.force);
    if (result.conflicts.length > 0) {
      throw new ApiError(409, 'Conflict', conflictMessage(result.conflicts), {
        causes: result.conflicts.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with ${managerName(c)}`,
          field: c.field,
        })),
      });
    }
    if (!previous) {
      if (subresource) throw notFound(gr(def), name);
      const managed = result.object.metadata.managedFields;
      const created = this.create(def, namespace, result.object, { ...ctx, dryRun: true });
      created.metadata.managedFields = managed;
      return { object: this.commit(def, undefined, created, ctx), created: true };
    }
    return { object: this.replace(def, previous, result.object, ctx, subresource, 'Apply'), created: false };
  }

  /** The Scale of a resource with a scale subresource. */
  getScale(def: ResourceDef, namespace: string | undefined, name: string) {
    return toScale(def, this.get(def, namespace, name));
  }

  updateScale(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    scale: KubeObject,
    ctx: WriteContext,
  ) {
    const previous = this.get(def, namespace, name);
    const paths = def.scale;
    if (!paths) throw notFound(gr(def), name);
    const rv = scale.metadata?.resourceVersion;
    if (rv && rv !== previous.metadata.resourceVersion) throw conflict(gr(def), name);
    const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ group: 'autoscaling', kind: 'Scale' }, name, [
        {
          field: 'spec.replicas',
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const next = clone(previous);
    setPath(next, paths.specReplicasPath, replicas);
    return toScale(def, this.replace(def, previous, next, ctx, undefined, 'Update'));
  }

  /** pods/binding: assigns a node to an unbound pod. */
  bind(def: ResourceDef, namespace: string, name: string, binding: KubeObject, ctx: WriteContext): void {
    const pod = this.get(def, namespace, name);
    const node = (binding.target as { name?: string } | undefined)?.name;
    if (!node)
      throw invalid({ group: '', kind: 'Binding' }, name, [
        { field: 'target.name', reason: 'FieldValueRequired', message: 'Required value' },
      ]);
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (spec.nodeName)
      throw conflict(
        { group: '', resource: 'pods/binding' },
        name,
        `pod ${name} is already assigned to node "${spec.nodeName}"`,
      );
    const next = clone(pod);
    (next.spec as Record<string, unknown>).nodeName = node;
    const status = (next.status ??= {}) as { conditions?: unknown[] };
    status.conditions = [
      ...(status.conditions ?? []).filter((c) => (c as { type?: string }).type !== 'PodScheduled'),
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: this.timestamp() },
    ];
    next.metadata.managedFields = recordUpdate(pod, next, this.owner(def, ctx, 'Update'), builtinMergeKeys);
    this.commit(def, pod, next, ctx);
  }

  /**
   * Deletes an object as the real server does: objects with finalizers (or a Foreground
   * propagation) are only marked; bound pods are marked for their grace period until the kubelet
   * deletes them with gracePeriodSeconds=0; namespaces become Terminating. Returns the last state
   * and whether it is gone.
   */
  delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions,
    ctx: WriteContext,
  ): { object: KubeObject; deleted: boolean } {
    const object = this.get(def, namespace, name);
    const pre = options.preconditions ?? {};
    if (pre.uid && pre.uid !== object.metadata.uid) {
      throw conflict(
        gr(def),
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${object.metadata.uid ?? ''}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== object.metadata.resourceVersion) {
      throw conflict(
        gr(def),
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${object.metadata.resourceVersion ?? ''}`,
      );
    }
    const next = clone(object);
    const meta = next.metadata;
    const now = this.now();
    if (def.kind === 'Namespace' && def.group === '') {
      if (name === 'default' || name === 'kube-system' || name === 'kube-public') {
        throw new ApiError(
          403,
          'Forbidden',
          `namespaces "${name}" is forbidden: this namespace may not be deleted`,
          { name, kind: 'namespaces' },
        );
      }
      if (meta.deletionTimestamp) return { object, deleted: false };
      meta.deletionTimestamp = this.timestamp();
      next.status = { ...(next.status as object), phase: 'Terminating' };
      return { object: this.commit(def, object, next, ctx), deleted: false };
    }
    if (def.kind === 'Pod' && def.group === '') {
      const spec = (object.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
      const phase = (object.status as { phase?: string } | undefined)?.phase;
      const grace = options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
      const running = spec.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
      if (running && grace > 0) {
        const current = meta.deletionGracePeriodSeconds;
        if (current !== undefined && current <= grace) return { object, deleted: false };
        meta.deletionTimestamp = new Date(now.getTime() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        meta.deletionGracePeriodSeconds = grace;
        return { object: this.commit(def, object, next, ctx), deleted: false };
      }
      meta.deletionGracePeriodSeconds = 0;
    }
    const propagation = options.propagationPolicy ?? 'Background';
    if (propagation === 'Orphan') this.orphanDependents(object, ctx);
    if (propagation === 'Foreground' && !(meta.finalizers ?? []).includes('foregroundDeletion')) {
      meta.finalizers = [...(meta.finalizers ?? []), 'foregroundDeletion'];
    }
    if ((meta.finalizers ?? []).length > 0) {
      if (!meta.deletionTimestamp) {
        meta.deletionTimestamp = this.timestamp();
        meta.deletionGracePeriodSeconds ??= 0;
        if (def.generation) meta.generation = (meta.generation ?? 1) + 1;
      }
      if (isDeepStrictEqual(next, object)) return { object, deleted: false };
      return { object: this.commit(def, object, next, ctx), deleted: false };
    }
    return { object: this.remove(def, object, ctx), deleted: true };
  }

  /** Removes an object for good (after its finalizers and grace period). */
  remove(def: ResourceDef, object: KubeObject, ctx: Pick<WriteContext, 'dryRun'>): KubeObject {
    if (ctx.dryRun) return object;
    if (def.kind === 'CustomResourceDefinition') this.dropCustomResources(object);
    return this.store.remove(storageKey(def), object);
  }

  private orphanDependents(owner: KubeObject, ctx: WriteContext): void {
    for (const [key, o] of [...this.store.entries()]) {
      const refs = o.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === owner.metadata.uid)) continue;
      const next = clone(o);
      next.metadata.ownerReferences = refs.filter((r) => r.uid !== owner.metadata.uid);
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      const dependentDef = this.registry.byStorageKey(key);
      if (dependentDef) this.commit(dependentDef, o, next, ctx);
    }
  }

  private dropCustomResources(crd: KubeObject): void {
    const spec = crd.spec as { group?: string; names?: { plural?: string } };
    const key = storageKey({ group: spec.group ?? '', plural: spec.names?.plural ?? '' });
    for (const o of this.store.list(key)) this.store.remove(key, o);
    this.registry.unserveCustom(crd.metadata.name ?? '');
  }

  /** Stores a change; an object being deleted whose last finalizer went is removed instead. */
  commit(
    def: ResourceDef,
    previous: KubeObject | undefined,
    next: KubeObject,
    ctx: Pick<WriteContext, 'dryRun'>,
  ): KubeObject {
    if (ctx.dryRun) return next;
    const meta = next.metadata;
    const waitingForKubelet =
      def.kind === 'Pod' && def.group === '' && (meta.deletionGracePeriodSeconds ?? 0) > 0;
    if (
      previous &&
      meta.deletionTimestamp &&
      (meta.finalizers ?? []).length === 0 &&
      !waitingForKubelet &&
      def.kind !== 'Namespace'
    ) {
      this.store.put(storageKey(def), next);
      return this.remove(def, next, ctx);
    }
    if (meta.finalizers?.length === 0) delete meta.finalizers;
    next.apiVersion = apiVersionOf(def);
    next.kind = def.kind;
    // resourceVersion is set by the store; present here so that it keeps its place in the order.
    const stored = this.store.put(
      storageKey(def),
      canonical({ ...next, metadata: { ...meta, resourceVersion: '' } }),
    );
    if (def.kind === 'CustomResourceDefinition')
      this.registry.serveCustom(meta.name ?? '', crdResourceDefs(stored));
    return stored;
  }

  /** Namespace and name checks shared by every write. */
  private checkIdentity(
    def: ResourceDef,
    object: KubeObject,
    namespace: string | undefined,
    name: string | undefined,
  ): void {
    const meta = object.metadata;
    if (name !== undefined && meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    if (name !== undefined) meta.name ??= name;
    if (def.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = namespace;
    } else delete meta.namespace;
    const apiVersion = apiVersionOf(def);
    if (
      (object.apiVersion !== undefined && object.apiVersion !== apiVersion) ||
      (object.kind !== undefined && object.kind !== def.kind)
    ) {
      const sameGroup =
        object.apiVersion?.split('/').slice(0, -1).join('/') === def.group && object.kind === def.kind;
      if (!sameGroup)
        throw badRequest(
          `the API version in the data (${object.apiVersion ?? ''}) does not match the expected API version (${apiVersion})`,
        );
    }
  }

  private checkNamespaceOpen(def: ResourceDef, namespace: string, name: string): void {
    const ns = this.store.get(storageKey({ group: '', plural: 'namespaces' }), undefined, namespace);
    if (!ns) throw notFound({ group: '', resource: 'namespaces' }, namespace);
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${qualified(gr(def))} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          name,
          ...(def.group ? { group: def.group } : {}),
          kind: def.plural,
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      );
    }
  }

  /**
   * Unknown fields (pruned; refused with fieldValidation=Strict, warned about with Warn), then
   * metadata, CRD and custom-resource schema checks.
   */
  private validate(def: ResourceDef, object: KubeObject, ctx: WriteContext): void {
    const unknown = pruneUnknownFields(def, object);
    const result = def.schema?.apply(object);
    unknown.push(...(result?.unknown ?? []));
    if (unknown.length > 0 && ctx.fieldValidation === 'Strict') {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`,
      );
    }
    if (ctx.fieldValidation === 'Warn') ctx.warnings.push(...unknown.map((f) => `unknown field "${f}"`));
    const causes = toCauses(metadataProblems(def, object), object);
    if (def.kind === 'CustomResourceDefinition') causes.push(...toCauses(crdProblems(object), object));
    causes.push(...(result?.causes ?? []));
    if (causes.length > 0)
      throw invalid({ group: def.group, kind: def.kind }, object.metadata.name ?? '', causes);
  }

  private admit(
    def: ResourceDef,
    operation: 'CREATE' | 'UPDATE',
    object: KubeObject,
    previous: KubeObject | undefined,
    ctx: WriteContext,
  ): KubeObject {
    let current = object;
    for (const hook of this.admission) {
      if (!hook.matches({ group: def.group, resource: def.plural })) continue;
      try {
        const response = hook.admit({
          operation,
          group: def.group,
          version: def.version,
          kind: def.kind,
          resource: def.plural,
          namespace: current.metadata.namespace,
          name: current.metadata.name ?? '',
          object: current,
          oldObject: previous,
          user: ctx.user,
        });
        if (response?.object) current = { ...response.object, metadata: current.metadata };
        ctx.warnings.push(...(response?.warnings ?? []));
      } catch (err) {
        if (err instanceof ValidationError) {
          throw invalid(
            { group: def.group, kind: def.kind },
            current.metadata.name ?? '',
            toCauses(err.errors, current),
          );
        }
        if (err instanceof ApiError) throw err;
        throw new ApiError(
          500,
          'InternalError',
          `Internal error occurred: failed calling webhook "${hook.name}": ${(err as Error).message}`,
        );
      }
    }
    return current;
  }

  private owner(def: ResourceDef, ctx: WriteContext, operation: 'Update' | 'Apply', subresource?: 'status') {
    return {
      manager: ctx.fieldManager,
      operation,
      apiVersion: apiVersionOf(def),
      time: this.timestamp(),
      ...(subresource ? { subresource } : {}),
    };
  }

  private mergeKeys(def: ResourceDef): MergeKeys | undefined {
    return def.strategicMerge ? builtinMergeKeys : undefined;
  }
}

function encodeContinue(rv: string, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: Number(rv), start })).toString('base64url');
}

function decodeContinue(token: string): { rv: string; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      rv: number;
      start: string;
    };
    if (typeof parsed.start !== 'string') throw new Error('no start');
    return { rv: String(parsed.rv), start: parsed.start };
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data at input byte 0');
  }
}

function getPath(object: unknown, path: string): unknown {
  return path
    .replace(/^\./, '')
    .split('.')
    .reduce<unknown>((node, seg) => (node as Record<string, unknown> | undefined)?.[seg], object);
}

function setPath(object: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.replace(/^\./, '').split('.');
  let node = object;
  for (const seg of segs.slice(0, -1)) node = (node[seg] ??= {}) as Record<string, unknown>;
  node[segs[segs.length - 1] ?? ''] = value;
}

function toScale(def: ResourceDef, object: KubeObject) {
  const paths = def.scale;
  if (!paths) throw notFound(gr(def), object.metadata.name ?? '');
  const selector = paths.labelSelectorPath ? getPath(object, paths.labelSelectorPath) : undefined;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: Number(getPath(object, paths.specReplicasPath) ?? 0) },
    status: {
      replicas: Number(getPath(object, paths.statusReplicasPath) ?? 0),
      ...(typeof selector === 'string' ? { selector } : {}),
    },
  };
}
