/**
 * REST handlers for resource requests that answer one body: get/list (as objects, lists or
 * Tables), create, update, patch, delete and deletecollection, with the status, scale and binding
 * subresources. Watches and streams (exec, port-forward, logs) are served elsewhere.
 */
import type { DeleteOptions, FieldValidation, ListOptions, Objects, WriteContext } from './objects.js';
import { apiVersionOf, type ResourceDef } from './resources.js';
import type { ResourcePath } from './routes.js';
import { isTrue } from './routes.js';
import { badRequest, methodNotAllowed, notFound, successStatus } from './status.js';
import { toTable, type IncludeObject } from './table.js';
import type { KubeObject, UserInfo } from './types.js';

export interface RestRequest {
  method: string;
  path: ResourcePath;
  def: ResourceDef;
  query: URLSearchParams;
  body: unknown;
  contentType: string;
  /** The client asked for a Table (`Accept: …;as=Table`). */
  table: boolean;
  user: UserInfo;
  userAgent: string;
}

export interface Reply {
  code: number;
  body: unknown;
  warnings: string[];
}

export function writeContext(req: RestRequest): WriteContext {
  const validation = req.query.get('fieldValidation') ?? 'Warn';
  if (!['Strict', 'Warn', 'Ignore'].includes(validation)) {
    throw badRequest(
      `fieldValidation parameter unsupported: ${validation}, must be one of Strict, Warn, Ignore`,
    );
  }
  return {
    user: req.user,
    fieldManager: req.query.get('fieldManager') ?? defaultManager(req.userAgent),
    fieldValidation: validation as FieldValidation,
    // A DELETE may carry dryRun in its DeleteOptions body instead of the query.
    dryRun: [...req.query.getAll('dryRun'), ...bodyDryRun(req.body)].includes('All'),
    warnings: [],
  };
}

function bodyDryRun(body: unknown): string[] {
  const dryRun = (body as { dryRun?: unknown } | undefined)?.dryRun;
  return Array.isArray(dryRun) ? dryRun.map(String) : [];
}

/** The real server names an unnamed manager after the client's User-Agent product. */
function defaultManager(userAgent: string): string {
  return (userAgent.split('/')[0] ?? '').trim() || 'unknown';
}

export function listOptions(query: URLSearchParams): ListOptions {
  const limit = query.get('limit');
  return {
    labelSelector: query.get('labelSelector') ?? undefined,
    fieldSelector: query.get('fieldSelector') ?? undefined,
    limit: limit ? Number(limit) : undefined,
    continue: query.get('continue') ?? undefined,
  };
}

function includeObject(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function asObject(body: unknown, what: string): KubeObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest(`${what} must be a JSON object`);
  const object = body as KubeObject;
  object.metadata ??= {};
  return object;
}

function deleteOptions(query: URLSearchParams, body: unknown): DeleteOptions {
  const fromBody = (typeof body === 'object' && body !== null ? body : {}) as DeleteOptions & {
    orphanDependents?: boolean;
  };
  const grace = query.get('gracePeriodSeconds') ?? fromBody.gracePeriodSeconds;
  const policy =
    query.get('propagationPolicy') ??
    fromBody.propagationPolicy ??
    (fromBody.orphanDependents ? 'Orphan' : undefined);
  if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
    throw badRequest(
      `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  return {
    ...(grace !== undefined && grace !== null ? { gracePeriodSeconds: Number(grace) } : {}),
    ...(policy ? { propagationPolicy: policy as DeleteOptions['propagationPolicy'] } : {}),
    ...(fromBody.preconditions ? { preconditions: fromBody.preconditions } : {}),
  };
}

/** Serves one request; `now` renders Table ages. */
export function serveRest(objects: Objects, req: RestRequest, now: Date): Reply {
  const { def, path, query } = req;
  const ns = def.namespaced ? path.namespace : undefined;
  if (def.namespaced && path.namespace === undefined && req.method !== 'GET')
    throw notFound({ group: def.group, resource: def.plural }, path.name ?? '');
  const reply = (code: number, body: unknown, warnings: string[] = []): Reply => ({ code, body, warnings });
  const sub = path.subresource;
  const name = path.name;

  if (name === undefined) {
    if (req.method === 'GET') {
      const page = objects.list(def, ns, listOptions(query));
      if (req.table) {
        return reply(
          200,
          toTable(def.columns, page.items, {
            now,
            include: includeObject(query),
            headers: true,
            resourceVersion: page.resourceVersion,
            continue: page.continue,
          }),
        );
      }
      return reply(200, {
        kind: def.listKind,
        apiVersion: apiVersionOf(def),
        metadata: {
          resourceVersion: page.resourceVersion,
          ...(page.continue ? { continue: page.continue } : {}),
        },
        items: page.items.map((o) => ({ ...o, apiVersion: apiVersionOf(def), kind: def.kind })),
      });
    }
    if (req.method === 'POST') {
      const ctx = writeContext(req);
      const created = objects.create(def, ns, asObject(req.body, 'the object'), ctx);
      return reply(201, created, ctx.warnings);
    }
    if (req.method === 'DELETE') {
      const ctx = writeContext(req);
      const options = deleteOptions(query, req.body);
      const page = objects.list(def, ns, listOptions(query));
      const items = page.items.map(
        (o) => objects.delete(def, o.metadata.namespace, o.metadata.name ?? '', options, ctx).object,
      );
      return reply(200, {
        kind: def.listKind,
        apiVersion: apiVersionOf(def),
        metadata: { resourceVersion: page.resourceVersion },
        items,
      });
    }
    throw methodNotAllowed();
  }

  if (sub === 'scale' && def.scale) {
    if (req.method === 'GET') return reply(200, objects.getScale(def, ns, name));
    const ctx = writeContext(req);
    if (req.method === 'PUT')
      return reply(
        200,
        objects.updateScale(def, ns, name, asObject(req.body, 'the Scale'), ctx),
        ctx.warnings,
      );
    if (req.method === 'PATCH') {
      const current = objects.getScale(def, ns, name) as unknown as KubeObject;
      const patched = objects.patchDocument(current, req.contentType, req.body, false);
      return reply(200, objects.updateScale(def, ns, name, patched, ctx), ctx.warnings);
    }
    throw methodNotAllowed();
  }
  if (sub === 'binding' && def.kind === 'Pod' && def.group === '' && req.method === 'POST') {
    objects.bind(def, ns ?? '', name, asObject(req.body, 'the Binding'), writeContext(req));
    return reply(201, { ...successStatus(), code: 201 });
  }
  if (sub !== undefined && !(sub === 'status' && def.status))
    throw notFound({ group: def.group, resource: def.plural }, name);
  const status = sub === 'status' ? 'status' : undefined;

  switch (req.method) {
    case 'GET': {
      const object = objects.get(def, ns, name);
      if (req.table)
        return reply(
          200,
          toTable(def.columns, [object], {
            now,
            include: includeObject(query),
            headers: true,
            resourceVersion: object.metadata.resourceVersion,
          }),
        );
      return reply(200, object);
    }
    case 'PUT': {
      const ctx = writeContext(req);
      return reply(
        200,
        objects.update(def, ns, name, asObject(req.body, 'the object'), ctx, status),
        ctx.warnings,
      );
    }
    case 'PATCH': {
      const ctx = { ...writeContext(req), force: isTrue(query.get('force')) };
      const result = objects.patch(def, ns, name, req.contentType, req.body, ctx, status);
      return reply(result.created ? 201 : 200, result.object, ctx.warnings);
    }
    case 'DELETE': {
      if (status) throw methodNotAllowed();
      const ctx = writeContext(req);
      const result = objects.delete(def, ns, name, deleteOptions(query, req.body), ctx);
      if (result.deleted && def.schema) {
        return reply(
          200,
          successStatus({ name, group: def.group, kind: def.plural, uid: result.object.metadata.uid }),
        );
      }
      return reply(200, result.object);
    }
    default:
      throw methodNotAllowed();
  }
}
