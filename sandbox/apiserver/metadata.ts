/**
 * The system-owned parts of an object's life: uid, names from generateName, creation defaults, and
 * the name and label checks every kind gets.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { dns1123SubdomainProblem, labelValueProblem, qualifiedNameProblem } from '../../lib/api/index.js';
import type { FieldError } from '../../lib/errors.js';
import type { ResourceDef } from './resources.js';
import type { KubeObject } from './types.js';

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function newUid(): string {
  return randomUUID();
}

/** `generateName` + 5 random characters, as the real server picks them. */
export function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return `${prefix}${suffix}`;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The real server's wording for a bad object name. */
function nameProblem(def: ResourceDef, name: string): string | undefined {
  if (def.kind === 'Namespace') {
    if (name.length <= 63 && DNS1123_LABEL.test(name)) return undefined;
    return `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`;
  }
  if (def.group === 'rbac.authorization.k8s.io')
    return name.includes('/') || name.includes('%') ? 'may not contain "/" or "%"' : undefined;
  if (!dns1123SubdomainProblem(name)) return undefined;
  return `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;
}

/** Metadata problems: the name, labels and annotations keys. */
export function metadataProblems(def: ResourceDef, object: KubeObject): FieldError[] {
  const out: FieldError[] = [];
  const { name, labels, annotations } = object.metadata;
  if (!name)
    out.push({
      field: 'metadata.name',
      reason: 'FieldValueRequired',
      message: 'name or generateName is required',
    });
  else {
    const problem = nameProblem(def, name);
    if (problem) out.push({ field: 'metadata.name', reason: 'FieldValueInvalid', message: problem });
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    const problem = qualifiedNameProblem(key);
    if (problem) out.push({ field: `metadata.labels`, reason: 'FieldValueInvalid', message: problem });
    const valueProblem = typeof value === 'string' ? labelValueProblem(value) : 'must be a string';
    if (valueProblem)
      out.push({ field: `metadata.labels`, reason: 'FieldValueInvalid', message: valueProblem });
  }
  for (const key of Object.keys(annotations ?? {})) {
    const problem = qualifiedNameProblem(key);
    if (problem) out.push({ field: 'metadata.annotations', reason: 'FieldValueInvalid', message: problem });
  }
  return out;
}

/** Defaults the real server (or its controllers, at once) gives a new object of a built-in kind. */
export function creationDefaults(def: ResourceDef, object: KubeObject): void {
  if (def.group !== '') return;
  const spec = (object.spec ??= {}) as Record<string, unknown>;
  switch (def.kind) {
    case 'Pod':
      object.status = { phase: 'Pending', qosClass: 'BestEffort' };
      spec.restartPolicy ??= 'Always';
      spec.terminationGracePeriodSeconds ??= 30;
      spec.dnsPolicy ??= 'ClusterFirst';
      spec.schedulerName ??= 'default-scheduler';
      break;
    case 'Namespace':
      spec.finalizers ??= ['kubernetes'];
      object.status = { phase: 'Active' };
      object.metadata.labels = {
        ...object.metadata.labels,
        'kubernetes.io/metadata.name': object.metadata.name ?? '',
      };
      break;
    case 'PersistentVolumeClaim':
      object.status = { phase: 'Pending' };
      break;
    case 'Service':
      spec.type ??= 'ClusterIP';
      spec.clusterIP ??= nextClusterIP();
      object.status = { loadBalancer: {} };
      break;
    default:
      if (Object.keys(spec).length === 0) delete object.spec;
  }
}

let clusterIPs = 0;
/** Cluster IPs from 10.96.0.0/16, as a kubeadm cluster hands them out (never routed: the sandbox has no proxy). */
function nextClusterIP(): string {
  clusterIPs++;
  return `10.96.${Math.floor(clusterIPs / 250) % 256}.${(clusterIPs % 250) + 2}`;
}

/** ObjectMeta's fields, in the order the real server writes them. */
const METADATA_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

/** The object with its fields in the real server's order: kind, apiVersion, metadata (ObjectMeta order), the rest. */
export function canonical(object: KubeObject): KubeObject {
  const { kind, apiVersion, metadata, ...rest } = object;
  const meta: KubeObject['metadata'] = {};
  for (const key of METADATA_FIELDS) if (metadata[key] !== undefined) meta[key] = metadata[key];
  return { kind, apiVersion, metadata: meta, ...rest };
}

/**
 * Drops the metadata fields ObjectMeta does not have and, for built-in kinds, the top-level fields
 * the kind does not have; returns their paths. (Built-in kinds' nested fields are not checked: the
 * sandbox has no schemas for them.)
 */
export function pruneUnknownFields(def: ResourceDef, object: KubeObject): string[] {
  const unknown: string[] = [];
  for (const key of Object.keys(object.metadata)) {
    if (METADATA_FIELDS.has(key)) continue;
    unknown.push(`metadata.${key}`);
    delete object.metadata[key];
  }
  if (def.schema) return unknown;
  for (const key of Object.keys(object)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata' || def.fields.includes(key)) continue;
    unknown.push(key);
    delete object[key];
  }
  return unknown;
}

/** True when anything but metadata and status differs: what bumps metadata.generation. */
export function specChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = ({ metadata: _m, status: _s, ...rest }: KubeObject) => rest;
  return !isDeepStrictEqual(strip(a), strip(b));
}
