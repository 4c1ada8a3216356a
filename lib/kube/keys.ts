/** Object keys: what the work queue holds and a reconcile receives — a name, never an event. */
import type { KubeObject } from './resources.js';

/** `namespace` is '' for cluster-scoped objects. */
export interface ObjectKey {
  namespace: string;
  name: string;
}

export function objectKey(obj: KubeObject): ObjectKey {
  return { namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
}

/** `namespace/name`, or `name` when cluster-scoped (client-go's MetaNamespaceKeyFunc). */
export function formatKey({ namespace, name }: ObjectKey): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}

export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
