/**
 * What the server knows about each resource it serves: names, scope, verbs, subresources, the
 * field selectors it supports, and how its Table looks. Built-in kinds are listed here; custom
 * resources get theirs from their CRD (crd.ts).
 */
import type { CustomSchema } from './schema.js';
import type { Column } from './table.js';

export interface ScalePaths {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** A status subresource: the main resource ignores status changes and vice versa. */
  status: boolean;
  scale?: ScalePaths;
  /** Other subresources (log, exec, portforward, binding, finalize). */
  subresources: string[];
  /** Field selectors beyond metadata.name and metadata.namespace. */
  fieldSelectors: string[];
  /** Table columns after Name. */
  columns: Column[];
  /** metadata.generation is kept, bumped by changes outside metadata and status. */
  generation: boolean;
  /** Custom resources: their schema validates, defaults and prunes; built-ins have none. */
  schema?: CustomSchema;
  /** Built-in kinds accept strategic merge patches; custom resources do not. */
  strategicMerge: boolean;
  /** Built-in kinds: their top-level fields (besides apiVersion, kind, metadata); others are unknown. */
  fields: string[];
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The storage identity of a resource: every served version of a group/plural shares objects. */
export function storageKey(def: { group: string; plural: string }): string {
  return `${def.group}/${def.plural}`;
}

/** The fields a field selector may name on this resource. */
export function selectableFields(def: ResourceDef): string[] {
  return ['metadata.name', 'metadata.namespace', ...def.fieldSelectors];
}

export function apiVersionOf(def: { group: string; version: string }): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

type BuiltinSpec = Pick<ResourceDef, 'group' | 'version' | 'kind' | 'plural'> & Partial<ResourceDef>;

function builtin(spec: BuiltinSpec): ResourceDef {
  return {
    listKind: `${spec.kind}List`,
    singular: spec.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    status: false,
    subresources: [],
    fieldSelectors: [],
    columns: [],
    generation: false,
    strategicMerge: true,
    fields: ['spec', 'status'],
    ...spec,
  };
}

const core = (kind: string, plural: string, rest: Partial<ResourceDef> = {}) =>
  builtin({ group: '', version: 'v1', kind, plural, ...rest });

export const BUILTINS: ResourceDef[] = [
  core('Namespace', 'namespaces', {
    namespaced: false,
    shortNames: ['ns'],
    status: true,
    subresources: ['finalize'],
    fieldSelectors: ['status.phase'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  core('Pod', 'pods', {
    shortNames: ['po'],
    categories: ['all'],
    status: true,
    subresources: ['binding', 'exec', 'log', 'portforward'],
    fieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  core('Node', 'nodes', { namespaced: false, shortNames: ['no'], status: true }),
  core('Service', 'services', { shortNames: ['svc'], categories: ['all'], status: true }),
  core('Endpoints', 'endpoints', {
    listKind: 'EndpointsList',
    singular: 'endpoints',
    shortNames: ['ep'],
    fields: ['subsets'],
  }),
  core('PersistentVolumeClaim', 'persistentvolumeclaims', { shortNames: ['pvc'], status: true }),
  core('Secret', 'secrets', {
    fieldSelectors: ['type'],
    fields: ['data', 'stringData', 'type', 'immutable'],
  }),
  core('ConfigMap', 'configmaps', { shortNames: ['cm'], fields: ['data', 'binaryData', 'immutable'] }),
  core('ServiceAccount', 'serviceaccounts', {
    shortNames: ['sa'],
    fields: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  }),
  core('Event', 'events', {
    shortNames: ['ev'],
    fields: [
      'involvedObject',
      'reason',
      'message',
      'source',
      'firstTimestamp',
      'lastTimestamp',
      'count',
      'type',
      'eventTime',
      'series',
      'action',
      'related',
      'reportingComponent',
      'reportingInstance',
    ],
    fieldSelectors: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  builtin({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases' }),
  builtin({
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    shortNames: ['pdb'],
    status: true,
    generation: true,
  }),
  builtin({
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    categories: ['all'],
    status: true,
    generation: true,
    fieldSelectors: ['status.successful'],
  }),
  builtin({
    group: 'batch',
    version: 'v1',
    kind: 'CronJob',
    plural: 'cronjobs',
    shortNames: ['cj'],
    categories: ['all'],
    status: true,
    generation: true,
  }),
  ...['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].map((kind) =>
    builtin({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      kind,
      plural: `${kind.toLowerCase()}s`,
      namespaced: !kind.startsWith('Cluster'),
      fields: kind.endsWith('Binding') ? ['subjects', 'roleRef'] : ['rules', 'aggregationRule'],
    }),
  ),
  ...['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'].map((kind) =>
    builtin({
      group: 'admissionregistration.k8s.io',
      version: 'v1',
      kind,
      plural: `${kind.toLowerCase()}s`,
      namespaced: false,
      categories: ['api-extensions'],
      generation: true,
      fields: ['webhooks'],
    }),
  ),
  builtin({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    status: true,
    generation: true,
    strategicMerge: false,
  }),
];

/** Served for `kubectl auth can-i`: create-only reviews answered from the RBAC evaluation. */
export const SELF_SUBJECT_ACCESS_REVIEWS: ResourceDef = builtin({
  group: 'authorization.k8s.io',
  version: 'v1',
  kind: 'SelfSubjectAccessReview',
  plural: 'selfsubjectaccessreviews',
  namespaced: false,
  verbs: ['create'],
});
