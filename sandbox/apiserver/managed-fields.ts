/**
 * Field ownership (metadata.managedFields) and server-side apply: which manager set which field,
 * conflicts between managers, and removing the fields a manager stops applying. A field is a leaf
 * path: `f:name` steps into maps, `k:{"name":"x"}` into lists merged by key, `v:"x"` into set lists;
 * other lists are atomic leaves, as in structured-merge-diff.
 */
import type { MergeKeys } from './patch.js';
import { strategicMergePatch } from './patch.js';
import type { KubeObject, ManagedFieldsEntry } from './types.js';

type Json = unknown;
type JsonObject = Record<string, Json>;
const isObject = (v: Json): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaf path (path elements joined by \n) → its value as JSON. */
type Leaves = Map<string, string>;

const OWNED_METADATA = new Set(['labels', 'annotations', 'finalizers', 'ownerReferences']);
const SEP = '\n';

/** The leaves of an object's fields a manager can own: in the main resource or the status subresource. */
export function leaves(object: KubeObject, keys: MergeKeys | undefined, subresource?: 'status'): Leaves {
  const out: Leaves = new Map();
  for (const [field, value] of Object.entries(object)) {
    if (field === 'apiVersion' || field === 'kind') continue;
    if ((subresource === 'status') !== (field === 'status')) continue;
    if (field === 'metadata') {
      for (const [m, v] of Object.entries(object.metadata)) {
        if (OWNED_METADATA.has(m)) walk(v, [`f:metadata`, `f:${m}`], `metadata.${m}`, keys, out);
      }
    } else walk(value, [`f:${field}`], field, keys, out);
  }
  return out;
}

function walk(value: Json, at: string[], path: string, keys: MergeKeys | undefined, out: Leaves): void {
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) walk(v, [...at, `f:${k}`], `${path}.${k}`, keys, out);
    return;
  }
  const key = Array.isArray(value) ? keys?.(path) : undefined;
  if (Array.isArray(value) && key === 'set') {
    for (const v of value) out.set([...at, `v:${JSON.stringify(v)}`].join(SEP), JSON.stringify(v));
    return;
  }
  if (Array.isArray(value) && key !== undefined) {
    for (const item of value) {
      if (!isObject(item)) continue;
      const element = [...at, `k:${JSON.stringify({ [key]: item[key] })}`];
      out.set([...element, '.'].join(SEP), '{}');
      for (const [k, v] of Object.entries(item)) walk(v, [...element, `f:${k}`], `${path}.${k}`, keys, out);
    }
    return;
  }
  out.set(at.join(SEP), JSON.stringify(value));
}

export function toFieldsV1(paths: Iterable<string>): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let node = root;
    for (const pe of path.split(SEP)) node = (node[pe] ??= {}) as JsonObject;
  }
  return root;
}

export function fromFieldsV1(
  fields: JsonObject,
  prefix: string[] = [],
  out = new Set<string>(),
): Set<string> {
  for (const [pe, child] of Object.entries(fields)) {
    const path = [...prefix, pe];
    if (isObject(child) && Object.keys(child).length > 0) fromFieldsV1(child, path, out);
    else out.add(path.join(SEP));
  }
  return out;
}

/** `.spec.size`, `.spec.containers[name="etcd"].image`: how conflict messages name a field. */
export function describePath(path: string): string {
  return path
    .split(SEP)
    .filter((pe) => pe !== '.')
    .map((pe) => {
      if (pe.startsWith('f:')) return `.${pe.slice(2)}`;
      if (pe.startsWith('v:')) return `[${pe.slice(2)}]`;
      const [k, v] = Object.entries(JSON.parse(pe.slice(2)) as JsonObject)[0] ?? [];
      return `[${k}=${JSON.stringify(v)}]`;
    })
    .join('');
}

export interface Ownership {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: 'status';
  time: string;
}

const sameEntry = (e: ManagedFieldsEntry, o: Ownership) =>
  e.manager === o.manager && e.operation === o.operation && (e.subresource ?? '') === (o.subresource ?? '');

/** Records an Update: the manager now owns every leaf it changed; nobody owns what it removed. */
export function recordUpdate(
  previous: KubeObject | undefined,
  next: KubeObject,
  owner: Ownership,
  keys: MergeKeys | undefined,
): ManagedFieldsEntry[] {
  const before = previous ? leaves(previous, keys, owner.subresource) : new Map<string, string>();
  const after = leaves(next, keys, owner.subresource);
  const changed = [...after].filter(([p, v]) => before.get(p) !== v).map(([p]) => p);
  const removed = [...before.keys()].filter((p) => !after.has(p));
  const entries = (previous?.metadata.managedFields ?? []).map((e) => {
    if (sameEntry(e, owner)) return e;
    const fields = fromFieldsV1(e.fieldsV1);
    for (const p of [...changed, ...removed]) fields.delete(p);
    return { ...e, fieldsV1: toFieldsV1(fields) };
  });
  const mine = entries.find((e) => sameEntry(e, owner));
  const owned = new Set(mine ? fromFieldsV1(mine.fieldsV1) : []);
  for (const p of changed) owned.add(p);
  for (const p of removed) owned.delete(p);
  return upsert(entries, owner, owned);
}

function upsert(entries: ManagedFieldsEntry[], owner: Ownership, owned: Set<string>): ManagedFieldsEntry[] {
  const entry: ManagedFieldsEntry = {
    manager: owner.manager,
    operation: owner.operation,
    apiVersion: owner.apiVersion,
    time: owner.time,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(owned),
    ...(owner.subresource ? { subresource: owner.subresource } : {}),
  };
  const rest = entries.filter((e) => !sameEntry(e, owner) && fromFieldsV1(e.fieldsV1).size > 0);
  return owned.size > 0 ? [...rest, entry] : rest;
}

export interface Conflict {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  field: string;
}

/** How the real server names a manager in conflicts: `"kubectl"`, or `"x" using v1` for an Update. */
export function managerName(c: Omit<Conflict, 'field'>): string {
  const name = `${JSON.stringify(c.manager)}${c.subresource ? ` with subresource ${JSON.stringify(c.subresource)}` : ''}`;
  return c.operation === 'Update' ? `${name} using ${c.apiVersion}` : name;
}

/** The real server's message for apply conflicts, one line per field, grouped by manager. */
export function conflictMessage(conflicts: Conflict[]): string {
  const n = conflicts.length;
  const prefix = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: `;
  const [only] = conflicts;
  if (n === 1 && only) return `${prefix}conflict with ${managerName(only)}: ${only.field}`;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts)
    byManager.set(managerName(c), [...(byManager.get(managerName(c)) ?? []), c.field]);
  const lines = [...byManager.keys()]
    .sort()
    .flatMap((m) => [`conflicts with ${m}:`, ...(byManager.get(m) ?? []).map((f) => `- ${f}`)]);
  return prefix + lines.join('\n');
}

export interface ApplyResult {
  object: KubeObject;
  /** Fields another manager owns with a different value (only when not forced). */
  conflicts: Conflict[];
}

/**
 * Server-side apply of `config` by `owner` onto `live` (undefined to create): merges the applied
 * fields, removes those the manager applied before and no longer does (unless another manager owns
 * them), and moves ownership. Conflicts are reported, not resolved, unless `force`.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  config: KubeObject,
  owner: Ownership,
  keys: MergeKeys | undefined,
  force: boolean,
): ApplyResult {
  const applied = leaves(config, keys, owner.subresource);
  const current = live ? leaves(live, keys, owner.subresource) : new Map<string, string>();
  const entries = live?.metadata.managedFields ?? [];
  const conflicts: ApplyResult['conflicts'] = [];
  for (const e of entries) {
    if (sameEntry(e, owner) || (e.subresource ?? '') !== (owner.subresource ?? '')) continue;
    for (const p of fromFieldsV1(e.fieldsV1)) {
      if (applied.has(p) && current.has(p) && current.get(p) !== applied.get(p)) {
        conflicts.push({
          manager: e.manager,
          operation: e.operation,
          apiVersion: e.apiVersion,
          time: e.time,
          ...(e.subresource ? { subresource: e.subresource } : {}),
          field: describePath(p),
        });
      }
    }
  }
  if (conflicts.length > 0 && !force) return { object: live ?? config, conflicts };

  const merged = strategicMergePatch(live ?? {}, config, keys ?? (() => undefined)) as KubeObject;
  const mine = entries.find((e) => sameEntry(e, owner));
  const othersOwn = new Set(
    entries.filter((e) => !sameEntry(e, owner)).flatMap((e) => [...fromFieldsV1(e.fieldsV1)]),
  );
  // A field still applied (itself or below it, as an empty map that now has fields) or owned by
  // another manager stays.
  const kept = [...applied.keys(), ...othersOwn];
  const stays = (p: string) => kept.some((q) => q === p || q.startsWith(p + SEP));
  for (const p of mine ? fromFieldsV1(mine.fieldsV1) : []) {
    if (!stays(p)) removePath(merged, p.split(SEP));
  }
  const others = entries
    .filter((e) => !sameEntry(e, owner))
    .map((e) => {
      const fields = fromFieldsV1(e.fieldsV1);
      for (const p of applied.keys()) if (current.get(p) !== applied.get(p)) fields.delete(p);
      return { ...e, fieldsV1: toFieldsV1(fields) };
    });
  merged.metadata.managedFields = upsert(others, owner, new Set(applied.keys()));
  return { object: merged, conflicts: [] };
}

function removePath(node: Json, path: string[]): void {
  const [pe, ...rest] = path;
  if (pe === undefined) return;
  if (pe.startsWith('f:') && isObject(node)) {
    const field = pe.slice(2);
    if (rest.length === 0) delete node[field];
    else {
      const next = node[field];
      if (Array.isArray(next) && rest[0]?.startsWith('v:') && rest.length === 1) {
        const value = JSON.parse(rest[0].slice(2)) as Json;
        node[field] = next.filter((v) => JSON.stringify(v) !== JSON.stringify(value));
      } else if (Array.isArray(next) && rest[0]?.startsWith('k:')) {
        const [k, v] = Object.entries(JSON.parse(rest[0].slice(2)) as JsonObject)[0] ?? [];
        const index = next.findIndex((item) => isObject(item) && k !== undefined && item[k] === v);
        if (index < 0) return;
        if (rest[1] === '.' || rest.length === 1) next.splice(index, 1);
        else removePath(next[index], rest.slice(1));
      } else removePath(next, rest);
    }
  }
}
