/**
 * The names, labels and URLs of everything an EtcdCluster owns. One place, so that the planner, the
 * resource builders, the plugin and the tests agree.
 */
import type { EtcdCluster } from '../api/index.js';

export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;
export const METRICS_PORT = 2381;

/** Labels every owned object carries; `etcd.io/cluster` is the selector of the cluster's pods. */
export const LABEL_CLUSTER = 'etcd.io/cluster';
export const LABEL_MEMBER = 'etcd.io/member';
export const MANAGED_BY = 'etcd-k8s-operator';

/** The finalizer that lets the operator clean up claims per reclaim policy before the cluster goes. */
export const FINALIZER = 'etcd.io/cleanup';

/** Annotation on member Pods and claims: the static initial cluster a bootstrap member was created with. */
export const ANNOTATION_INITIAL_CLUSTER = 'etcd.io/initial-cluster';

export interface ClusterNames {
  cluster: string;
  namespace: string;
  /** The headless Service that gives each member its DNS name. */
  peerService: string;
  /** The Service clients use. */
  clientService: string;
  podDisruptionBudget: string;
  caSecret: string;
  peerSecret: string;
  serverSecret: string;
  clientSecret: string;
}

export function clusterNames(cluster: Pick<EtcdCluster, 'metadata'>): ClusterNames {
  const name = cluster.metadata.name ?? '';
  return {
    cluster: name,
    namespace: cluster.metadata.namespace ?? 'default',
    peerService: name,
    clientService: `${name}-client`,
    podDisruptionBudget: name,
    caSecret: `${name}-ca`,
    peerSecret: `${name}-peer-tls`,
    serverSecret: `${name}-server-tls`,
    clientSecret: `${name}-client-tls`,
  };
}

/** Member `ordinal` of cluster `demo` is `demo-<ordinal>`; its Pod has the same name. */
export function memberName(cluster: string, ordinal: number): string {
  return `${cluster}-${ordinal}`;
}

/** The ordinal of a member name of this cluster, or undefined for any other name. */
export function memberOrdinal(cluster: string, name: string): number | undefined {
  const prefix = `${cluster}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

/** Orders member names by ordinal, numerically: demo-2 before demo-10. */
export function byOrdinal(cluster: string): (a: string, b: string) => number {
  return (a, b) => (memberOrdinal(cluster, a) ?? -1) - (memberOrdinal(cluster, b) ?? -1);
}

export function claimName(member: string): string {
  return `data-${member}`;
}

/** The member's stable DNS name, through the headless peer Service. */
export function memberHost(names: ClusterNames, member: string): string {
  return `${member}.${names.peerService}.${names.namespace}.svc`;
}

export function peerURL(names: ClusterNames, member: string, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${memberHost(names, member)}:${PEER_PORT}`;
}

export function clientURL(names: ClusterNames, member: string, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${memberHost(names, member)}:${CLIENT_PORT}`;
}

/** The member a peer URL belongs to (learners have no name in etcd until they start). */
export function memberFromPeerURL(names: ClusterNames, url: string): string | undefined {
  const m = /^https?:\/\/([^.:/]+)\./.exec(url);
  const member = m?.[1];
  if (member === undefined || memberOrdinal(names.cluster, member) === undefined) return undefined;
  return url.includes(`.${names.peerService}.${names.namespace}.svc`) ? member : undefined;
}

export function selectorLabels(names: ClusterNames): Record<string, string> {
  return { [LABEL_CLUSTER]: names.cluster };
}

/** The label selector string of the cluster's member pods, as status.selector carries it. */
export function selectorString(names: ClusterNames): string {
  return `${LABEL_CLUSTER}=${names.cluster}`;
}

export function commonLabels(names: ClusterNames): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'etcd',
    'app.kubernetes.io/instance': names.cluster,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [LABEL_CLUSTER]: names.cluster,
  };
}

export function memberLabels(names: ClusterNames, member: string): Record<string, string> {
  return { ...commonLabels(names), 'app.kubernetes.io/component': 'member', [LABEL_MEMBER]: member };
}
