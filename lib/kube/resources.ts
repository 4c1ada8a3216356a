/**
 * What the runtime knows of a kind: where it lives in the REST API and the TypeScript type of its
 * objects. Objects travel as the plain JSON the API server sends (client-node's typed model classes
 * rename and drop fields when they serialise), so timestamps are RFC 3339 strings: `Wire<T>` (from
 * lib/api, which the generated types use too) says so for client-node's types, which declare `Date`.
 */
import type {
  CoreV1Event,
  V1ConfigMap,
  V1Lease,
  V1Namespace,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import type { EtcdBackup, EtcdCluster } from '../../generated/types.js';
import { GROUP_VERSION } from '../api/group.js';
import type { Wire } from '../api/wire.js';

export type { Wire };

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** At most one owner of an object is its controller: the one reconciled when the object changes. */
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The metadata the runtime reads. Both client-node's `V1ObjectMeta` and its wire form satisfy it. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ResourceType<T extends KubeObject = KubeObject> {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** The resource name in URLs: `pods`, `etcdclusters`. */
  readonly plural: string;
  readonly namespaced: boolean;
  /** Never set: carries the object type `T` for the client's generic methods. */
  readonly __object?: T;
}

export function resourceType<T extends KubeObject>(
  apiVersion: string,
  kind: string,
  plural: string,
  namespaced: boolean,
): ResourceType<T> {
  const slash = apiVersion.indexOf('/');
  const [group, version] =
    slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
  return { group, version, apiVersion, kind, plural, namespaced };
}

export type Namespace = Wire<V1Namespace>;
export type Pod = Wire<V1Pod>;
export type Service = Wire<V1Service>;
export type Secret = Wire<V1Secret>;
export type ConfigMap = Wire<V1ConfigMap>;
export type PersistentVolumeClaim = Wire<V1PersistentVolumeClaim>;
export type Event = Wire<CoreV1Event>;
export type Lease = Wire<V1Lease>;
export type PodDisruptionBudget = Wire<V1PodDisruptionBudget>;
/** A CRD as plain JSON; the schema is `lib/api`'s JSONSchemaProps, untouched by client-node's model. */
export interface CustomResourceDefinition extends KubeObject {
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export const Namespaces = resourceType<Namespace>('v1', 'Namespace', 'namespaces', false);
export const Pods = resourceType<Pod>('v1', 'Pod', 'pods', true);
export const Services = resourceType<Service>('v1', 'Service', 'services', true);
export const Secrets = resourceType<Secret>('v1', 'Secret', 'secrets', true);
export const ConfigMaps = resourceType<ConfigMap>('v1', 'ConfigMap', 'configmaps', true);
export const PersistentVolumeClaims = resourceType<PersistentVolumeClaim>(
  'v1',
  'PersistentVolumeClaim',
  'persistentvolumeclaims',
  true,
);
export const Events = resourceType<Event>('v1', 'Event', 'events', true);
export const Leases = resourceType<Lease>('coordination.k8s.io/v1', 'Lease', 'leases', true);
export const PodDisruptionBudgets = resourceType<PodDisruptionBudget>(
  'policy/v1',
  'PodDisruptionBudget',
  'poddisruptionbudgets',
  true,
);
export const CustomResourceDefinitions = resourceType<CustomResourceDefinition>(
  'apiextensions.k8s.io/v1',
  'CustomResourceDefinition',
  'customresourcedefinitions',
  false,
);
export const EtcdClusters = resourceType<EtcdCluster>(GROUP_VERSION, 'EtcdCluster', 'etcdclusters', true);
export const EtcdBackups = resourceType<EtcdBackup>(GROUP_VERSION, 'EtcdBackup', 'etcdbackups', true);

export interface PathOptions {
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** The REST path of a collection, an object or one of its subresources. */
export function resourcePath(type: ResourceType, { namespace, name, subresource }: PathOptions = {}): string {
  const root = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const scope = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const object = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  const sub = subresource === undefined ? '' : `/${subresource}`;
  return `${root}${scope}/${type.plural}${object}${sub}`;
}
