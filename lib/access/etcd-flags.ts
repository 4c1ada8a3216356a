/**
 * What a pod's own command line says about the etcd in it: its member name, where it serves
 * clients and which certificate files it was given. Pure; read from the pod spec, so that etcd this
 * operator does not manage (kubeadm's static pod) is reached with the files it already has.
 */
import type { Pod } from '../kube/resources.js';

type Container = NonNullable<NonNullable<Pod['spec']>['containers']>[number];

export interface EtcdPodFlags {
  /** The container running etcd. */
  container: string;
  /** `--name`: the member's name in etcd. */
  name?: string;
  listenClientURLs: string[];
  advertiseClientURLs: string[];
  trustedCAFile?: string;
  certFile?: string;
  keyFile?: string;
  peerCertFile?: string;
  peerKeyFile?: string;
}

/** The flags this module reads, and the environment variables etcd also takes them from. */
const FLAGS = {
  name: 'name',
  listenClientURLs: 'listen-client-urls',
  advertiseClientURLs: 'advertise-client-urls',
  trustedCAFile: 'trusted-ca-file',
  certFile: 'cert-file',
  keyFile: 'key-file',
  peerCertFile: 'peer-cert-file',
  peerKeyFile: 'peer-key-file',
} as const;

const DEFAULT_CLIENT_URL = 'http://127.0.0.1:2379';

/** The etcd container of a pod: the one named `etcd`, else the first whose command runs etcd. */
export function etcdContainer(pod: Pod): Container | undefined {
  const containers = pod.spec?.containers ?? [];
  return (
    containers.find((c) => c.name === 'etcd') ??
    containers.find((c) => [...(c.command ?? []), ...(c.args ?? [])].some((a) => /(^|\/)etcd$/.test(a)))
  );
}

export function readEtcdFlags(pod: Pod): EtcdPodFlags | undefined {
  const container = etcdContainer(pod);
  if (!container) return undefined;
  const env = containerEnv(pod, container);
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) => expand(a, env));
  const values = new Map<string, string>();
  for (const [flag, key] of Object.entries(FLAGS)) {
    const fromEnv = env.get(`ETCD_${key.toUpperCase().replace(/-/g, '_')}`);
    if (fromEnv !== undefined) values.set(flag, fromEnv);
  }
  const known = new Map<string, string>(Object.entries(FLAGS).map(([flag, key]) => [key, flag]));
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i] ?? '');
    const flag = m && known.get(m[1] ?? '');
    if (!m || !flag) continue;
    const value = m[2] ?? argv[++i];
    if (value !== undefined) values.set(flag, value);
  }
  const list = (flag: string) => (values.get(flag) ?? '').split(',').filter((u) => u !== '');
  const optional = (flag: keyof typeof FLAGS) => values.get(flag);
  return dropUndefined({
    container: container.name,
    name: optional('name'),
    listenClientURLs: list('listenClientURLs'),
    advertiseClientURLs: list('advertiseClientURLs'),
    trustedCAFile: optional('trustedCAFile'),
    certFile: optional('certFile'),
    keyFile: optional('keyFile'),
    peerCertFile: optional('peerCertFile'),
    peerKeyFile: optional('peerKeyFile'),
  });
}

/** The URL etcdctl inside the pod dials: the advertised one, or a listened one on loopback. */
export function localClientURL(flags: EtcdPodFlags): string {
  const advertised = flags.advertiseClientURLs[0];
  if (advertised) return advertised;
  const listened = flags.listenClientURLs[0];
  if (!listened) return DEFAULT_CLIENT_URL;
  const url = new URL(listened);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
  return url.toString().replace(/\/$/, '');
}

/** The port the pod serves clients on, and whether it speaks TLS there. */
export function clientPort(flags: EtcdPodFlags): { port: number; tls: boolean } {
  const url = new URL(flags.listenClientURLs[0] ?? flags.advertiseClientURLs[0] ?? DEFAULT_CLIENT_URL);
  return { port: Number(url.port || 2379), tls: url.protocol === 'https:' };
}

/** Which of the pod's key pairs authenticates etcdctl as a client. */
export type ClientKeyPair = 'server' | 'peer';

/**
 * etcdctl's TLS flags from the pod's files. kubeadm's server certificate is also a client
 * certificate; this operator's is not (its peer certificate is, signed by the same CA), hence the
 * choice.
 */
export function etcdctlTlsArgs(flags: EtcdPodFlags, pair: ClientKeyPair): string[] {
  const [cert, key] =
    pair === 'peer' ? [flags.peerCertFile, flags.peerKeyFile] : [flags.certFile, flags.keyFile];
  return [
    ...(flags.trustedCAFile ? [`--cacert=${flags.trustedCAFile}`] : []),
    ...(cert ? [`--cert=${cert}`] : []),
    ...(key ? [`--key=${key}`] : []),
  ];
}

/** The variables `$(VAR)` may name: literal env values and the pod fields we know. */
function containerEnv(pod: Pod, container: Container): Map<string, string> {
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'status.podIP': pod.status?.podIP,
    'spec.nodeName': pod.spec?.nodeName,
  };
  const env = new Map<string, string>();
  for (const e of container.env ?? []) {
    const value = e.value ?? (e.valueFrom?.fieldRef ? fields[e.valueFrom.fieldRef.fieldPath] : undefined);
    if (value !== undefined) env.set(e.name, expand(value, env));
  }
  return env;
}

/** Kubernetes' `$(VAR)` expansion: `$$` escapes, unknown names stay as written. */
function expand(text: string, env: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) =>
    name === undefined ? '$' : (env.get(name) ?? match),
  );
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
