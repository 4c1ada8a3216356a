/**
 * Pure builders of the objects an EtcdCluster owns: member Pods and claims, the peer and client
 * Services and the PodDisruptionBudget. Each returns the whole desired object; the executor creates
 * it, or compares it with what exists.
 */
import type { V1Container, V1Probe, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { Wire } from '../api/wire.js';
import type {
  OwnerReference,
  PersistentVolumeClaim,
  Pod,
  PodDisruptionBudget,
  Service,
} from '../kube/resources.js';
import type { EtcdCluster } from '../api/index.js';
import { GROUP_VERSION, parseQuantity, parseVersion } from '../api/index.js';
import {
  ANNOTATION_INITIAL_CLUSTER,
  CLIENT_PORT,
  METRICS_PORT,
  PEER_PORT,
  claimName,
  clientURL,
  commonLabels,
  memberLabels,
  peerURL,
  selectorLabels,
  type ClusterNames,
} from './naming.js';
import { quorum } from '../etcd/quorum.js';
import { credentialVariables } from '../backup/restore-credentials.js';
import type { RestoredFrom } from '../api/index.js';
import { VERSION as PROJECT_VERSION } from '../version.js';

const DATA_DIR = '/var/lib/etcd';
/** etcd's --data-dir, inside the member's volume (at DATA_DIR). */
const MEMBER_DATA_DIR = `${DATA_DIR}/data`;
const PKI_DIR = '/etc/etcd/pki';
/** Where the restore agent sees a volume backup's claim: `<dir>/<namespace>/<claimName>`. */
const RESTORE_CLAIMS_DIR = '/var/lib/etcd-restore/claims';
/** This project's image, which carries the restore agent and the etcd tools of every minor. */
export const DEFAULT_AGENT_IMAGE = `ghcr.io/etcd-k8s-operator/etcd-k8s-operator:${PROJECT_VERSION}`;

export function ownerReference(cluster: EtcdCluster): OwnerReference {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'EtcdCluster',
    name: cluster.metadata.name ?? '',
    uid: cluster.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function metadata(cluster: EtcdCluster, names: ClusterNames, name: string, labels: Record<string, string>) {
  return { name, namespace: names.namespace, labels, ownerReferences: [ownerReference(cluster)] };
}

export function peerService(cluster: EtcdCluster, names: ClusterNames): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(cluster, names, names.peerService, commonLabels(names)),
    spec: {
      clusterIP: 'None',
      // Peers must resolve each other before they are ready: a member is not ready until it has quorum.
      publishNotReadyAddresses: true,
      selector: selectorLabels(names),
      ports: [
        { name: 'peer', port: PEER_PORT, targetPort: PEER_PORT },
        { name: 'client', port: CLIENT_PORT, targetPort: CLIENT_PORT },
      ],
    },
  };
}

export function clientService(cluster: EtcdCluster, names: ClusterNames): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(cluster, names, names.clientService, commonLabels(names)),
    spec: {
      selector: selectorLabels(names),
      ports: [{ name: 'client', port: CLIENT_PORT, targetPort: CLIENT_PORT }],
    },
  };
}

/** Voluntary disruptions (drains) may never take away more members than quorum allows. */
export function podDisruptionBudget(cluster: EtcdCluster, names: ClusterNames): PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(cluster, names, names.podDisruptionBudget, commonLabels(names)),
    spec: { minAvailable: quorum(cluster.spec.size), selector: { matchLabels: selectorLabels(names) } },
  };
}

export function memberClaim(
  cluster: EtcdCluster,
  names: ClusterNames,
  member: string,
  initialCluster?: string,
): PersistentVolumeClaim {
  const { storage } = cluster.spec;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      ...metadata(cluster, names, claimName(member), memberLabels(names, member)),
      ...(initialCluster ? { annotations: { [ANNOTATION_INITIAL_CLUSTER]: initialCluster } } : {}),
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: String(storage.size) } },
      ...(storage.storageClassName !== undefined ? { storageClassName: storage.storageClassName } : {}),
    },
  };
}

/** How a member's pod starts: as one of the cluster's first members, or joining a running cluster. */
export interface MemberStart {
  /** `name=peerURL,…` of every member the new one should know of. */
  initialCluster: string;
  state: 'new' | 'existing';
}

/** An initial member of a cluster created from a backup: its data directory is made from `from`. */
export interface MemberRestore {
  from: RestoredFrom;
  /** The image of the restore agent (this project's). */
  image: string;
}

/**
 * A member's pod. `agentImage` (this project's) gives a member that joins a running TLS cluster an
 * init container that waits until the members accept its peer certificate
 * (lib/etcd/peer-acceptance.ts): without it, its etcd exits and is restarted with a back-off.
 */
export function memberPod(
  cluster: EtcdCluster,
  names: ClusterNames,
  member: string,
  start: MemberStart,
  restore?: MemberRestore,
  agentImage?: string,
): Pod {
  const { spec } = cluster;
  const tls = spec.security.tls.enabled;
  const persistent = spec.storage.type === 'PersistentVolumeClaim';
  const labels = { ...spec.pod?.labels, ...memberLabels(names, member) } as Record<string, string>;
  const annotations = {
    ...spec.pod?.annotations,
    ...(start.state === 'new' ? { [ANNOTATION_INITIAL_CLUSTER]: start.initialCluster } : {}),
  } as Record<string, string>;

  const volumes: Wire<V1Volume>[] = [
    persistent
      ? { name: 'data', persistentVolumeClaim: { claimName: claimName(member) } }
      : { name: 'data', emptyDir: { sizeLimit: String(spec.storage.size) } },
  ];
  const mounts: Wire<V1VolumeMount>[] = [{ name: 'data', mountPath: DATA_DIR }];
  if (tls) {
    for (const [role, secretName] of [
      ['peer', names.peerSecret],
      ['server', names.serverSecret],
    ] as const) {
      volumes.push({ name: `${role}-tls`, secret: { secretName, defaultMode: 0o400 } });
      mounts.push({ name: `${role}-tls`, mountPath: `${PKI_DIR}/${role}`, readOnly: true });
    }
  }

  const container: Wire<V1Container> = {
    name: 'etcd',
    image: `${spec.repository}:v${spec.version}`,
    command: ['/usr/local/bin/etcd'],
    args: etcdArgs(cluster, names, member, start),
    ports: [
      { name: 'client', containerPort: CLIENT_PORT },
      { name: 'peer', containerPort: PEER_PORT },
      { name: 'metrics', containerPort: METRICS_PORT },
    ],
    volumeMounts: mounts,
    readinessProbe: probe('/health', 1, 3),
    livenessProbe: livenessProbe(spec.version),
    ...(spec.pod?.resources ? { resources: spec.pod.resources as Wire<V1Container>['resources'] } : {}),
  };

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...metadata(cluster, names, member, labels), annotations },
    spec: {
      hostname: member,
      subdomain: names.peerService,
      ...(restore
        ? { initContainers: [restoreContainer(cluster, names, member, start, restore, volumes)] }
        : tls && start.state === 'existing' && agentImage
          ? { initContainers: [awaitPeersContainer(names, member, start, agentImage)] }
          : {}),
      containers: [container],
      volumes,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: false,
      affinity: spec.pod?.affinity ?? spreadAcrossNodes(names),
      ...(spec.pod?.nodeSelector ? { nodeSelector: spec.pod.nodeSelector as Record<string, string> } : {}),
      ...(spec.pod?.tolerations ? { tolerations: spec.pod.tolerations } : {}),
      ...(spec.pod?.priorityClassName ? { priorityClassName: spec.pod.priorityClassName } : {}),
    },
  };
}

/** The etcd command line of a member, derived from the spec; flags the user typed come last. */
export function etcdArgs(
  cluster: EtcdCluster,
  names: ClusterNames,
  member: string,
  start: MemberStart,
): string[] {
  return Object.entries(etcdFlags(cluster, names, member, start)).map(
    ([flag, value]) => `--${flag}=${value}`,
  );
}

/** The new cluster's --initial-cluster-token: its uid, so that every cluster made gets a new ID. */
export function clusterToken(cluster: EtcdCluster, names: ClusterNames): string {
  return cluster.metadata.uid ?? names.cluster;
}

function etcdFlags(
  cluster: EtcdCluster,
  names: ClusterNames,
  member: string,
  start: MemberStart,
): Record<string, string> {
  const { spec } = cluster;
  const tls = spec.security.tls.enabled;
  const scheme = tls ? 'https' : 'http';
  const args: Record<string, string> = {
    name: member,
    'data-dir': MEMBER_DATA_DIR,
    'listen-peer-urls': `${scheme}://0.0.0.0:${PEER_PORT}`,
    'listen-client-urls': `${scheme}://0.0.0.0:${CLIENT_PORT}`,
    'listen-metrics-urls': `http://0.0.0.0:${METRICS_PORT}`,
    'advertise-client-urls': clientURL(names, member, tls),
    'initial-advertise-peer-urls': peerURL(names, member, tls),
    'initial-cluster': start.initialCluster,
    'initial-cluster-state': start.state,
    'initial-cluster-token': clusterToken(cluster, names),
    'snapshot-count': String(spec.etcd.snapshotCount),
    'heartbeat-interval': String(spec.etcd.heartbeatIntervalMillis),
    'election-timeout': String(spec.etcd.electionTimeoutMillis),
    'auto-compaction-mode': spec.etcd.autoCompactionMode,
    'auto-compaction-retention': spec.etcd.autoCompactionRetention,
  };
  if (spec.etcd.quotaBackendBytes !== undefined) {
    args['quota-backend-bytes'] = String(parseQuantity(spec.etcd.quotaBackendBytes));
  }
  if (spec.etcd.maxRequestBytes !== undefined) args['max-request-bytes'] = String(spec.etcd.maxRequestBytes);
  if (parseVersion(spec.version)?.minor === 4) args.logger = 'zap';
  if (tls) {
    Object.assign(args, {
      'cert-file': `${PKI_DIR}/server/tls.crt`,
      'key-file': `${PKI_DIR}/server/tls.key`,
      'trusted-ca-file': `${PKI_DIR}/server/ca.crt`,
      'client-cert-auth': 'true',
      'peer-cert-file': `${PKI_DIR}/peer/tls.crt`,
      'peer-key-file': `${PKI_DIR}/peer/tls.key`,
      'peer-trusted-ca-file': `${PKI_DIR}/peer/ca.crt`,
      'peer-client-cert-auth': 'true',
    });
  }
  Object.assign(args, spec.etcd.extraArgs);
  return args;
}

/**
 * The init container that makes an initial member's data directory from the pinned snapshot
 * (`etcd-operator restore-member`, operator/restore-member.ts), with the same name, peer URL, initial
 * cluster and token its etcd starts with. Credentials come as variables from their Secret, a volume
 * backup's claim as a read-only mount (added to `volumes`); neither ever appears in an argument.
 */
function restoreContainer(
  cluster: EtcdCluster,
  names: ClusterNames,
  member: string,
  start: MemberStart,
  restore: MemberRestore,
  volumes: Wire<V1Volume>[],
): Wire<V1Container> {
  const flags = etcdFlags(cluster, names, member, start);
  const { from } = restore;
  const claim = from.storage.volume?.claimName;
  const args: Record<string, string> = {
    'data-dir': MEMBER_DATA_DIR,
    name: member,
    'initial-cluster': start.initialCluster,
    'initial-cluster-token': flags['initial-cluster-token'] ?? clusterToken(cluster, names),
    'initial-advertise-peer-urls': flags['initial-advertise-peer-urls'] ?? '',
    'etcd-version': cluster.spec.version,
    namespace: names.namespace,
    storage: JSON.stringify(from.storage),
    snapshot: from.snapshot,
    sha256: from.sha256,
    size: String(from.size),
    ...(claim !== undefined ? { 'claim-root': RESTORE_CLAIMS_DIR } : {}),
  };
  const mounts: Wire<V1VolumeMount>[] = [{ name: 'data', mountPath: DATA_DIR }];
  if (claim !== undefined) {
    volumes.push({ name: 'backup', persistentVolumeClaim: { claimName: claim, readOnly: true } });
    mounts.push({
      name: 'backup',
      mountPath: `${RESTORE_CLAIMS_DIR}/${names.namespace}/${claim}`,
      readOnly: true,
    });
  }
  const env = credentialVariables(from.storage).map((v) => ({
    name: v.env,
    valueFrom: { secretKeyRef: { name: v.secret, key: v.key, ...(v.optional ? { optional: true } : {}) } },
  }));
  return {
    name: 'restore',
    image: restore.image,
    command: ['/usr/local/bin/etcd-operator', 'restore-member'],
    // `$(` would be expanded by Kubernetes; `$$` is its escape for a literal `$`.
    args: Object.entries(args).map(([flag, value]) => `--${flag}=${value.replaceAll('$', '$$$$')}`),
    ...(env.length > 0 ? { env } : {}),
    volumeMounts: mounts,
  };
}

/** `etcd-operator await-peers` against the other members of `start`, with the member's peer certificate. */
function awaitPeersContainer(
  names: ClusterNames,
  member: string,
  start: MemberStart,
  image: string,
): Wire<V1Container> {
  const peers = start.initialCluster
    .split(',')
    .map((pair) => pair.split('='))
    .filter(([name]) => name !== member)
    .map(([, url]) => url);
  const pki = `${PKI_DIR}/peer`;
  return {
    name: 'await-peers',
    image,
    command: ['/usr/local/bin/etcd-operator', 'await-peers'],
    args: [
      `--peers=${peers.join(',')}`,
      `--cert=${pki}/tls.crt`,
      `--key=${pki}/tls.key`,
      `--ca=${pki}/ca.crt`,
    ],
    volumeMounts: [{ name: 'peer-tls', mountPath: pki, readOnly: true }],
  };
}

/** `name=peerURL` pairs in the form --initial-cluster takes, in the order given. */
export function initialClusterFlag(names: ClusterNames, members: readonly string[], tls: boolean): string {
  return members.map((m) => `${m}=${peerURL(names, m, tls)}`).join(',');
}

function probe(path: string, periodSeconds: number, failureThreshold: number): Wire<V1Probe> {
  return {
    httpGet: { path, port: METRICS_PORT, scheme: 'HTTP' },
    periodSeconds,
    timeoutSeconds: 5,
    failureThreshold,
  };
}

/**
 * Liveness must not fail on quorum loss (restarting every member would make it worse): from 3.5 the
 * serializable health check answers without quorum; 3.4 lacks it, so it only checks the port.
 */
function livenessProbe(version: string): Wire<V1Probe> {
  const minor = parseVersion(version)?.minor ?? 5;
  if (minor < 5)
    return { tcpSocket: { port: METRICS_PORT }, periodSeconds: 10, failureThreshold: 8, timeoutSeconds: 5 };
  return { ...probe('/health?serializable=true&exclude=NOSPACE', 10, 8), initialDelaySeconds: 10 };
}

function spreadAcrossNodes(names: ClusterNames) {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: { matchLabels: selectorLabels(names) },
          },
        },
      ],
    },
  };
}
