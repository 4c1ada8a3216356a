/**
 * Which etcd a command is about. An EtcdCluster this operator manages (its member pods carry
 * `etcd.io/cluster=<name>`), or etcd it does not manage: kubeadm's static pods, labelled
 * `component=etcd,tier=control-plane`, known here by the name `etcd` (or any of its pods' names).
 */
import type { EtcdCluster } from '../api/index.js';
import { LABEL_CLUSTER } from '../cluster/naming.js';
import { ignoreNotFound, NotFoundError } from '../errors.js';
import type { KubeReader, RequestOptions } from '../kube/client.js';
import { EtcdClusters, Pods, type Pod, type Wire } from '../kube/resources.js';

export const STATIC_ETCD_LABELS: Readonly<Record<string, string>> = {
  component: 'etcd',
  tier: 'control-plane',
};
/** The name a namespace's static etcd pods go by, as one cluster. */
export const STATIC_ETCD_NAME = 'etcd';

export interface EtcdTarget {
  namespace: string;
  name: string;
  /** Present when the operator manages it. */
  cluster?: Wire<EtcdCluster>;
  /** Its member pods, by name. */
  pods: Pod[];
}

export interface TargetQuery extends RequestOptions {
  /** Absent: every namespace. */
  namespace?: string;
}

/** Every EtcdCluster and every namespace's static etcd, sorted by namespace and name. */
export async function listTargets(kube: KubeReader, query: TargetQuery): Promise<EtcdTarget[]> {
  const scope = {
    ...(query.namespace !== undefined ? { namespace: query.namespace } : {}),
    signal: query.signal,
  };
  const [clusters, memberPods, staticPods] = await Promise.all([
    kube.list(EtcdClusters, scope),
    kube.list(Pods, {
      ...scope,
      labelSelector: { matchExpressions: [{ key: LABEL_CLUSTER, operator: 'Exists' }] },
    }),
    kube.list(Pods, { ...scope, labelSelector: { matchLabels: STATIC_ETCD_LABELS } }),
  ]);
  const targets: EtcdTarget[] = clusters.items.map((cluster) => {
    const { namespace = '', name = '' } = cluster.metadata ?? {};
    const pods = memberPods.items.filter(
      (p) => p.metadata?.namespace === namespace && p.metadata.labels?.[LABEL_CLUSTER] === name,
    );
    return { namespace, name, cluster, pods: byName(pods) };
  });
  for (const [namespace, pods] of groupByNamespace(staticPods.items)) {
    targets.push({ namespace, name: STATIC_ETCD_NAME, pods: byName(pods) });
  }
  return targets.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/**
 * The etcd named `name` in `namespace`. Its NotFoundError says what there is instead: the clusters
 * of that namespace, and the namespace holding a cluster of that name when the user may list them.
 */
export async function findTarget(
  kube: KubeReader,
  query: { namespace: string; name: string } & RequestOptions,
): Promise<EtcdTarget> {
  const { namespace, name, signal } = query;
  const [cluster, memberPods] = await Promise.all([
    kube.get(EtcdClusters, { namespace, name }, { signal }).catch(ignoreNotFound),
    kube.list(Pods, { namespace, labelSelector: { matchLabels: { [LABEL_CLUSTER]: name } }, signal }),
  ]);
  if (cluster) return { namespace, name, cluster, pods: byName(memberPods.items) };
  const targets = await listTargets(kube, { namespace, signal });
  const found = targets.find(
    (t) => !t.cluster && (t.name === name || t.pods.some((p) => p.metadata?.name === name)),
  );
  if (found) return found;
  throw new NotFoundError(
    `${notFoundMessage(name, namespace, targets)}${await elsewhere(kube, name, namespace, signal)}`,
  );
}

function notFoundMessage(name: string, namespace: string, here: EtcdTarget[]): string {
  const names = here.map((t) => t.name);
  const there = names.length > 0 ? `clusters there: ${names.join(', ')}` : 'none there';
  return `no etcd cluster "${name}" in namespace "${namespace}" (${there})`;
}

/** `; it is in namespace "x": add -n x` when a cluster-wide list finds it; nothing if it may not. */
async function elsewhere(
  kube: KubeReader,
  name: string,
  namespace: string,
  signal?: AbortSignal,
): Promise<string> {
  try {
    const all = await kube.list(EtcdClusters, { fieldSelector: `metadata.name=${name}`, signal });
    const others = all.items.map((c) => c.metadata?.namespace ?? '').filter((n) => n !== namespace);
    if (others.length > 0)
      return `; it is in namespace ${others.map((n) => `"${n}"`).join(', ')}: add -n ${others[0]}`;
  } catch {
    // A user who may not list every namespace gets the plain message.
  }
  return '';
}

function byName(pods: Pod[]): Pod[] {
  return [...pods].sort((a, b) =>
    (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '', 'en', { numeric: true }),
  );
}

function groupByNamespace(pods: Pod[]): Map<string, Pod[]> {
  const groups = new Map<string, Pod[]>();
  for (const pod of pods) {
    const namespace = pod.metadata?.namespace ?? '';
    groups.set(namespace, [...(groups.get(namespace) ?? []), pod]);
  }
  return groups;
}
