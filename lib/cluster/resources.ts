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

const DATA_DIR = '/var/lib/etcd';
const PKI_DIR = '/etc/etcd/pki';

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

export function memberPod(
  cluster: EtcdCluster,
  names: ClusterNames,
  member: string,
  start: MemberStart,
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
  const { spec } = cluster;
  const tls = spec.security.tls.enabled;
  const scheme = tls ? 'https' : 'http';
  const args: Record<string, string> = {
    name: member,
    'data-dir': `${DATA_DIR}/data`,
    'listen-peer-urls': `${scheme}://0.0.0.0:${PEER_PORT}`,
    'listen-client-urls': `${scheme}://0.0.0.0:${CLIENT_PORT}`,
    'listen-metrics-urls': `http://0.0.0.0:${METRICS_PORT}`,
    'advertise-client-urls': clientURL(names, member, tls),
    'initial-advertise-peer-urls': peerURL(names, member, tls),
    'initial-cluster': start.initialCluster,
    'initial-cluster-state': start.state,
    'initial-cluster-token': cluster.metadata.uid ?? names.cluster,
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
  return Object.entries(args).map(([flag, value]) => `--${flag}=${value}`);
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
