/**
 * From a workstation to an EtcdAdmin on a cluster's members, by one of two transports:
 *
 * - port-forward: a local listener per member pod, bridged through the API server to the member's
 *   client port; TLS with the client certificate from the cluster's Secret, verified against the
 *   member's DNS name (what its certificate names), not 127.0.0.1.
 * - exec: `etcdctl` run inside each member pod with the certificate files of the pod's own flags,
 *   for etcd whose client certificate is not in a Secret (kubeadm's static pod).
 *
 * `auto` picks port-forward for an EtcdCluster and exec for anything else.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { LABEL_MEMBER, clusterNames } from '../cluster/naming.js';
import { createEtcdAdmin, type EtcdAdmin, type EtcdEndpoint } from '../etcd/admin.js';
import { UsageError } from '../errors.js';
import type { KubeReader } from '../kube/client.js';
import { Secrets, type Pod } from '../kube/resources.js';
import { readTlsSecret } from '../tls/secrets.js';
import {
  clientPort,
  etcdctlTlsArgs,
  localClientURL,
  readEtcdFlags,
  type EtcdPodFlags,
} from './etcd-flags.js';
import { createEtcdctlAdmin } from './etcdctl-admin.js';
import { execInPod } from './exec.js';
import { explainForwards, nameEndpoints, type ForwardedEndpoint } from './forwarded-admin.js';
import { forwardPort } from './port-forward.js';
import type { EtcdTarget } from './targets.js';

export type TransportName = 'port-forward' | 'exec';

/** gRPC's HTTP/2 window over port-forwards (Go's gRPC grows its own to this size). */
const FLOW_CONTROL_WINDOW = 16 << 20;
export type TransportChoice = 'auto' | TransportName;

export interface ConnectOptions {
  kubeConfig: KubeConfig;
  kube: KubeReader;
  target: EtcdTarget;
  transport?: TransportChoice;
  /** Deadline of each etcd call; default 5 s. */
  timeoutMs?: number;
  /** Deadline of a defragmentation; default 10 min. */
  defragmentTimeoutMs?: number;
  signal?: AbortSignal;
}

/** One member pod as the admin reaches it. */
export interface MemberAccess {
  /** The member's name in etcd (the pod's `--name`). */
  member: string;
  pod: string;
  /** The endpoint the admin knows this member by. */
  endpoint: string;
  /** The pod's phase: only a Running pod can answer. */
  phase: string;
}

export interface EtcdConnection {
  target: EtcdTarget;
  transport: TransportName;
  admin: EtcdAdmin;
  /** One per member pod, in the target's pod order. */
  members: MemberAccess[];
  /** Why the transport could not reach an endpoint lately (a refused port-forward), if it could not. */
  failure(endpoint: string): Error | undefined;
  /** An error of something done through this connection, worded with members instead of local URLs. */
  explain(err: unknown): Error;
  /** Closes the admin and every forward. */
  close(): Promise<void>;
}

export function chooseTransport(target: EtcdTarget, choice: TransportChoice = 'auto'): TransportName {
  if (choice === 'auto') return target.cluster ? 'port-forward' : 'exec';
  if (choice === 'port-forward' && !target.cluster) {
    throw new UsageError(
      `${target.namespace}/${target.name} is not an EtcdCluster: its client certificate is in no Secret, so port-forward cannot authenticate; use --transport exec`,
    );
  }
  return choice;
}

export async function connectEtcd(options: ConnectOptions): Promise<EtcdConnection> {
  const { target } = options;
  const pods = target.pods.flatMap((pod) => {
    const flags = readEtcdFlags(pod);
    return flags ? [{ pod, flags }] : [];
  });
  if (pods.length === 0) {
    throw new UsageError(
      `${target.namespace}/${target.name} has no etcd pods to reach (is it still being created?)`,
    );
  }
  const transport = chooseTransport(target, options.transport);
  return transport === 'exec' ? connectByExec(options, pods) : connectByPortForward(options, pods);
}

interface EtcdPod {
  pod: Pod;
  flags: EtcdPodFlags;
}

async function connectByPortForward(options: ConnectOptions, pods: EtcdPod[]): Promise<EtcdConnection> {
  const { target, kubeConfig } = options;
  const namespace = target.namespace;
  const tls = pods.some(({ flags }) => clientPort(flags).tls);
  const material = tls
    ? readTlsSecret(await options.kube.get(Secrets, clientSecretKey(target), { signal: options.signal }))
    : undefined;
  const forwarded: ForwardedEndpoint[] = [];
  const members: MemberAccess[] = [];
  const endpoints: EtcdEndpoint[] = [];
  try {
    for (const { pod, flags } of pods) {
      const name = pod.metadata?.name ?? '';
      const { port } = clientPort(flags);
      const forward = await forwardPort(kubeConfig, { namespace, pod: name, port });
      const url = `${tls ? 'https' : 'http'}://127.0.0.1:${forward.localPort}`;
      const member = memberName(pod, flags);
      forwarded.push({ url, label: `member ${member} (pod ${namespace}/${name})`, forward });
      members.push({ member, pod: name, endpoint: url, phase: pod.status?.phase ?? 'Unknown' });
      endpoints.push({ url, serverName: serverName(flags) });
    }
  } catch (err) {
    await Promise.all(forwarded.map((f) => f.forward.close()));
    throw err;
  }
  const admin = explainForwards(
    createEtcdAdmin({
      endpoints,
      // Each byte crosses the API server: a 64 KiB window per round trip would cap a snapshot at a few MiB/s.
      flowControlWindow: FLOW_CONTROL_WINDOW,
      ...(material ? { tls: { caCert: material.caCert, cert: material.cert, key: material.key } } : {}),
      ...timeouts(options),
    }),
    forwarded,
  );
  return {
    target,
    transport: 'port-forward',
    admin,
    members,
    failure: (endpoint) => forwarded.find((f) => f.url === endpoint)?.forward.lastError(),
    explain: (err) => nameEndpoints(err, forwarded),
    close: async () => {
      admin.close();
      await Promise.all(forwarded.map((f) => f.forward.close()));
    },
  };
}

function connectByExec(options: ConnectOptions, pods: EtcdPod[]): EtcdConnection {
  const { target, kubeConfig } = options;
  // This operator's server certificates are for serving only; its peer certificates are also clients'.
  const pair = target.cluster ? 'peer' : 'server';
  const containers = new Map(pods.map(({ pod, flags }) => [pod.metadata?.name ?? '', flags.container]));
  const members = pods.map(({ pod, flags }) => ({
    member: memberName(pod, flags),
    pod: pod.metadata?.name ?? '',
    endpoint: localClientURL(flags),
    phase: pod.status?.phase ?? 'Unknown',
  }));
  const admin = createEtcdctlAdmin({
    endpoints: pods.map(({ pod, flags }) => ({
      url: localClientURL(flags),
      pod: pod.metadata?.name ?? '',
      tlsArgs: etcdctlTlsArgs(flags, pair),
    })),
    run: (pod, command) =>
      execInPod(kubeConfig, {
        namespace: target.namespace,
        pod,
        container: containers.get(pod) ?? 'etcd',
        command,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    ...timeouts(options),
  });
  return {
    target,
    transport: 'exec',
    admin,
    members,
    failure: () => undefined,
    explain: (err) => (err instanceof Error ? err : new Error(String(err))),
    close: () => Promise.resolve(admin.close()),
  };
}

/** The Secret holding the client certificate: `<cluster>-client-tls`, or the one the spec names. */
function clientSecretKey(target: EtcdTarget): { namespace: string; name: string } {
  const tls = target.cluster?.spec?.security?.tls;
  const provided = tls?.issuer === 'Provided' ? tls.secrets?.client : undefined;
  const names = clusterNames({ metadata: { name: target.name, namespace: target.namespace } });
  return { namespace: target.namespace, name: provided ?? names.clientSecret };
}

function memberName(pod: Pod, flags: EtcdPodFlags): string {
  return flags.name ?? pod.metadata?.labels?.[LABEL_MEMBER] ?? pod.metadata?.name ?? '';
}

/** The advertised host is what the member's certificate names (`demo-0.demo.ns.svc`). */
function serverName(flags: EtcdPodFlags): string | undefined {
  const advertised = flags.advertiseClientURLs[0];
  return advertised ? new URL(advertised).hostname : undefined;
}

function timeouts(options: ConnectOptions): { timeoutMs?: number; defragmentTimeoutMs?: number } {
  return {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.defragmentTimeoutMs !== undefined
      ? { defragmentTimeoutMs: options.defragmentTimeoutMs }
      : {}),
  };
}
