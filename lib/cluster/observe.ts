/**
 * Observe: everything a pass needs to decide, read once — the cluster's pods, claims and Secrets
 * from the informer caches, and the membership and health from etcd itself (over TLS with the
 * operator's client certificate when the cluster uses it).
 */
import type { EtcdCluster } from '../api/index.js';
import type { EtcdAdmin, EtcdEndpoint, EtcdTlsOptions } from '../etcd/index.js';
import type { Cache } from '../kube/cache.js';
import {
  PersistentVolumeClaims,
  Pods,
  Secrets,
  type KubeObject,
  type Pod,
  type Secret,
} from '../kube/resources.js';
import { readTlsSecret } from '../tls/index.js';
import {
  CLIENT_PORT,
  LABEL_CLUSTER,
  LABEL_MEMBER,
  clusterNames,
  memberHost,
  type ClusterNames,
} from './naming.js';
import type { EtcdView, MemberHealth, Observed } from './observed.js';

/** Hands out an EtcdAdmin for a cluster's current endpoints, reusing connections between passes. */
export interface EtcdConnector {
  admin(clusterUid: string, endpoints: EtcdEndpoint[], tls?: EtcdTlsOptions): EtcdAdmin;
}

export interface ObserveDeps {
  cache: Pick<Cache, 'list'>;
  etcd: EtcdConnector;
  now: () => Date;
}

/** The etcd view and the admin that produced it (for the executor's one membership change). */
export interface Observation {
  observed: Observed;
  admin?: EtcdAdmin;
}

export async function observe(cluster: EtcdCluster, deps: ObserveDeps): Promise<Observation> {
  const names = clusterNames(cluster);
  const labelled = {
    namespace: names.namespace,
    labelSelector: { matchLabels: { [LABEL_CLUSTER]: names.cluster } },
  };
  const uid = cluster.metadata.uid ?? '';
  const [pods, claims] = await Promise.all([
    deps.cache.list(Pods, { ...labelled, ownerUid: uid }),
    deps.cache.list(PersistentVolumeClaims, labelled),
  ]);
  const ours = (c: KubeObject) => c.metadata?.ownerReferences?.some((r) => r.uid === uid) ?? false;
  const member = (c: KubeObject) => c.metadata?.labels?.[LABEL_MEMBER] ?? '';
  const secrets = await readSecrets(cluster, names, deps.cache);
  const observed: Observed = {
    cluster,
    now: deps.now(),
    pods: new Map(pods.items.map((p) => [p.metadata?.name ?? '', p])),
    claims: new Map(claims.items.filter(ours).map((c) => [member(c), c])),
    reservedMembers: new Set(claims.items.filter((c) => !ours(c)).map(member)),
    secrets,
  };
  if (cluster.metadata.deletionTimestamp || cluster.spec.paused) return { observed };

  const access = etcdAccess(cluster, [...observed.pods.values()], secrets);
  if (!access) return { observed };
  const admin = deps.etcd.admin(cluster.metadata.uid ?? '', access.endpoints, access.tls);
  const etcd = await readEtcd(admin);
  return etcd ? { observed: { ...observed, etcd }, admin } : { observed, admin };
}

export interface EtcdAccess {
  endpoints: EtcdEndpoint[];
  /** The operator's client certificate; absent when the cluster runs without TLS. */
  tls?: EtcdTlsOptions;
}

/**
 * How the operator reaches a cluster's members: their endpoints and its client certificate.
 * Undefined while no member runs, or while TLS is on and the client Secret is missing or unreadable.
 */
export function etcdAccess(
  cluster: EtcdCluster,
  pods: Pod[],
  secrets: Map<string, Secret>,
): EtcdAccess | undefined {
  const names = clusterNames(cluster);
  const endpoints = memberEndpoints(names, pods, cluster.spec.security.tls.enabled);
  if (endpoints.length === 0) return undefined;
  if (!cluster.spec.security.tls.enabled) return { endpoints };
  const tls = clientTls(cluster, names, secrets);
  return tls ? { endpoints, tls } : undefined;
}

/** The Secrets the cluster's certificates live in, by name; absent ones are simply missing. */
export async function readSecrets(
  cluster: EtcdCluster,
  names: ClusterNames,
  cache: Pick<Cache, 'list'>,
): Promise<Map<string, Secret>> {
  const tls = cluster.spec.security.tls;
  if (!tls.enabled) return new Map<string, Secret>();
  const wanted =
    tls.issuer === 'Provided' && tls.secrets
      ? [tls.secrets.peer, tls.secrets.server, tls.secrets.client]
      : [names.caSecret, names.peerSecret, names.serverSecret, names.clientSecret];
  const list = await cache.list(Secrets, { namespace: names.namespace });
  const byName = new Map(list.items.map((s) => [s.metadata?.name ?? '', s]));
  return new Map(
    wanted.flatMap((name) => {
      const secret = byName.get(name);
      return secret ? [[name, secret] as const] : [];
    }),
  );
}

/**
 * Each running member's client port, by pod IP — reachable from inside the cluster and from the
 * sandbox's host alike — verified against the member's DNS name, which its certificate carries.
 */
export function memberEndpoints(names: ClusterNames, pods: Pod[], tls: boolean): EtcdEndpoint[] {
  return pods
    .filter((p) => p.status?.podIP && !p.metadata?.deletionTimestamp)
    .map((p) => {
      const member = p.metadata?.name ?? '';
      const url = `${tls ? 'https' : 'http'}://${p.status?.podIP}:${CLIENT_PORT}`;
      return tls ? { url, serverName: memberHost(names, member) } : { url };
    });
}

function clientTls(
  cluster: EtcdCluster,
  names: ClusterNames,
  secrets: Map<string, unknown>,
): EtcdTlsOptions | undefined {
  const tls = cluster.spec.security.tls;
  if (!tls.enabled) return undefined;
  const name = tls.issuer === 'Provided' && tls.secrets ? tls.secrets.client : names.clientSecret;
  const secret = secrets.get(name);
  if (!secret) return undefined;
  try {
    const material = readTlsSecret(secret);
    return { caCert: material.caCert, cert: material.cert, key: material.key };
  } catch {
    // A malformed client Secret is reported by the certificate plan; etcd stays unobserved meanwhile.
    return undefined;
  }
}

/** Membership (linearizable: it needs quorum) and every reachable member's status. */
async function readEtcd(admin: EtcdAdmin): Promise<EtcdView | undefined> {
  let list;
  try {
    list = await admin.memberList();
  } catch {
    return undefined;
  }
  const statuses = await admin.statusAll();
  const health: Record<string, MemberHealth> = {};
  let leaderID: string | undefined;
  for (const s of statuses) {
    if ('error' in s) continue;
    // A member that answers but knows no leader is cut off from its peers: not healthy.
    const hasLeader = !/^0+$/.test(s.leaderId);
    health[s.memberId] = {
      healthy: hasLeader,
      version: s.version,
      isLeader: s.isLeader,
      ...(hasLeader ? {} : { error: 'no leader' }),
    };
    if (hasLeader) leaderID = s.leaderId;
  }
  return { clusterID: list.clusterId, members: list.members, ...(leaderID ? { leaderID } : {}), health };
}
