/**
 * PATCH bodies: JSON patch (RFC 6902, by fast-json-patch), JSON merge patch (RFC 7386) and the
 * strategic merge patch of built-in kinds — lists that Kubernetes merges by a key (containers,
 * env and volumes by name, ports, conditions, …) and the `$patch`, `$retainKeys`,
 * `$setElementOrder/` and `$deleteFromPrimitiveList/` directives kubectl sends.
 */
import fastJsonPatch from 'fast-json-patch';
import { ApiError } from './status.js';

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Dotted field path (no list indices) → the key its list merges by. */
const MERGE_KEYS: [RegExp, string][] = [
  [/(^|\.)(containers|initContainers|ephemeralContainers)$/, 'name'],
  [/(containers|initContainers|ephemeralContainers)\.ports$/, 'containerPort'],
  [/\.env$/, 'name'],
  [/\.volumeMounts$/, 'mountPath'],
  [/\.volumeDevices$/, 'devicePath'],
  [/(^|\.)spec\.volumes$/, 'name'],
  [/(^|\.)imagePullSecrets$/, 'name'],
  [/(^|\.)hostAliases$/, 'ip'],
  [/(^|\.)topologySpreadConstraints$/, 'topologyKey'],
  [/^spec\.ports$/, 'port'],
  [/^metadata\.ownerReferences$/, 'uid'],
  [/^status\.conditions$/, 'type'],
  [/^status\.podIPs$/, 'ip'],
  [/^secrets$/, 'name'],
];
/** Lists of scalars that merge as sets. */
const SET_LISTS = [/^metadata\.finalizers$/];

/** The key a list at `path` merges by, `'set'` for lists of scalars merged as sets, undefined for atomic lists. */
export type MergeKeys = (path: string) => string | undefined;

export const builtinMergeKeys: MergeKeys = (path) => {
  if (SET_LISTS.some((re) => re.test(path))) return 'set';
  return MERGE_KEYS.find(([re]) => re.test(path))?.[1];
};

/** RFC 7386: maps merge, null deletes, everything else (lists too) replaces. */
export function mergePatch(original: Json, patch: Json): Json {
  return merge(original, patch, '', undefined);
}

/** Strategic merge patch with `keys` telling which lists merge and by what. */
export function strategicMergePatch(original: Json, patch: Json, keys: MergeKeys = builtinMergeKeys): Json {
  return merge(original, patch, '', keys);
}

function merge(original: Json, patch: Json, path: string, keys: MergeKeys | undefined): Json {
  if (!isObject(patch)) return patch;
  if (keys && patch.$patch === 'replace') return withoutDirectives(patch);
  const result: JsonObject = isObject(original) ? { ...original } : {};
  const orders: [string, Json[]][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (keys && key.startsWith('$')) {
      if (key.startsWith('$setElementOrder/')) orders.push([key.slice(17), value as Json[]]);
      if (key.startsWith('$deleteFromPrimitiveList/')) {
        const field = key.slice(25);
        const drop = (value ?? []) as Json[];
        result[field] = ((result[field] ?? []) as Json[]).filter((v) => !drop.includes(v));
      }
      continue;
    }
    const sub = path === '' ? key : `${path}.${key}`;
    if (value === null) delete result[key];
    else if (isObject(value) && keys && value.$patch === 'delete') delete result[key];
    else if (isObject(value)) result[key] = merge(result[key], value, sub, keys);
    else if (Array.isArray(value) && keys) result[key] = mergeList(result[key], value, sub, keys);
    else result[key] = value;
  }
  if (keys && Array.isArray(patch.$retainKeys)) {
    const retain = new Set(patch.$retainKeys as string[]);
    for (const key of Object.keys(result)) if (!retain.has(key)) delete result[key];
  }
  for (const [field, order] of orders) {
    const list = result[field];
    if (Array.isArray(list))
      result[field] = reorder(list, order, keys?.(path === '' ? field : `${path}.${field}`));
  }
  return result;
}

function mergeList(original: Json, patch: Json[], path: string, keys: MergeKeys): Json[] {
  const key = keys(path);
  const current: Json[] = Array.isArray(original) ? (original as Json[]) : [];
  if (key === undefined) return patch.map((v) => (isObject(v) ? withoutDirectives(v) : v));
  if (key === 'set') return [...current, ...patch.filter((v) => !current.includes(v))];
  if (patch.some((v) => isObject(v) && v.$patch === 'replace')) {
    return patch
      .filter((v) => !(isObject(v) && v.$patch === 'replace'))
      .map((v) => withoutDirectives(v as JsonObject));
  }
  const result = [...current];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = result.findIndex((r) => isObject(r) && r[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) result[index] = merge(result[index], item, path, keys);
    else result.push(withoutDirectives(item));
  }
  return result;
}

function reorder(list: Json[], order: Json[], key: string | undefined): Json[] {
  const id = (v: Json) =>
    key && key !== 'set' && isObject(v) ? v[key] : isObject(v) ? JSON.stringify(v) : v;
  const ids = order.map(id);
  const rank = (v: Json) => {
    const i = ids.indexOf(id(v));
    return i < 0 ? ids.length : i;
  };
  return [...list].sort((a, b) => rank(a) - rank(b));
}

function withoutDirectives(value: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith('$')));
}

/** RFC 6902; a failing operation answers 422 as the real server does. */
export function jsonPatch(original: Json, operations: Json): Json {
  if (!Array.isArray(operations)) {
    throw new ApiError(
      400,
      'BadRequest',
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  }
  try {
    return fastJsonPatch.applyPatch(
      structuredClone(original),
      operations as fastJsonPatch.Operation[],
      true,
      false,
    ).newDocument;
  } catch (err) {
    void err;
    throw new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request');
  }
}
