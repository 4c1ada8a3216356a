/**
 * `kubectl etcd` as a user runs it, against the sandbox: the plugin bundled into a directory put on
 * PATH, the real kubectl with a kubeconfig and a discovery cache of its own, and etcd clusters built
 * the way the operator builds them (Secrets from lib/tls, Pods, claims and Services from
 * lib/cluster/resources.ts, status through the status subresource) but with no operator running:
 * the suites that add and remove members, move the leader or pause a member by hand need a cluster
 * nobody else changes meanwhile. What goes through the operator (scale) starts the real one.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { parseEtcdCluster, type EtcdCluster } from '../../lib/api/index.js';
import {
  clientService,
  initialClusterFlag,
  memberClaim,
  memberPod,
  peerService,
} from '../../lib/cluster/resources.js';
import { clusterNames, memberName, type ClusterNames } from '../../lib/cluster/naming.js';
import { createEtcdAdmin, type EtcdAdmin } from '../../lib/etcd/index.js';
import {
  EtcdClusters,
  KubeClient,
  Namespaces,
  PersistentVolumeClaims,
  Pods,
  Secrets,
  Services,
  resourceType,
  type KubeObject,
  type Pod,
  type Wire,
} from '../../lib/kube/index.js';
import {
  buildCaSecret,
  buildTlsSecret,
  createCertificateAuthority,
  issueCertificate,
  issueClusterCA,
  issueLeaf,
  planClusterCertificates,
  type KeyPair,
  type TlsMaterial,
} from '../../lib/tls/index.js';
import { bundle } from '../../hack/bundle.js';
import { pluginBundlePlugins } from '../../plugin/bundling.js';
import type { Sandbox, SandboxOptions } from '../../sandbox/sandbox.js';
import { eventually, forwardPort, podReady, startTestSandbox } from './sandbox.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Bundles bin/kubectl-etcd and its completion shim into a fresh directory (removed at teardown). */
export async function buildPlugin(t: Teardown): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-etcd-bin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  await bundle(join(root, 'plugin/main.ts'), join(dir, 'kubectl-etcd'), pluginBundlePlugins());
  await bundle(join(root, 'plugin/complete-main.ts'), join(dir, 'kubectl_complete-etcd'));
  return dir;
}

export interface PluginResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningPlugin {
  child: ChildProcessWithoutNullStreams;
  /** Resolves once stderr (where progress goes) contains `text`. */
  waitForStderr(text: string | RegExp): Promise<void>;
  exited: Promise<PluginResult>;
}

export interface KubectlEtcd {
  kubeconfig: string;
  /** Runs `kubectl <args>` (e.g. `['etcd', 'status', 'demo']`) to completion. */
  run(args: string[], options?: { stdin?: string; env?: Record<string, string> }): Promise<PluginResult>;
  start(args: string[], options?: { env?: Record<string, string> }): RunningPlugin;
  /** The environment kubectl runs with: the plugin on PATH, a private HOME and discovery cache. */
  env: NodeJS.ProcessEnv;
}

/**
 * The real kubectl with `binDir` first on PATH, as `user` of the sandbox. `--kubeconfig` is added
 * after the plugin's arguments (kubectl refuses flags before a plugin's name).
 */
export function kubectlEtcd(
  t: Teardown,
  sandbox: Pick<Sandbox, 'api'>,
  binDir: string,
  user = 'admin',
): KubectlEtcd {
  const home = mkdtempSync(join(tmpdir(), 'kubectl-etcd-home-'));
  const children: ChildProcessWithoutNullStreams[] = [];
  t.teardown(async () => {
    await Promise.all(children.map((c) => stopChild(c)));
    rmSync(home, { recursive: true, force: true });
  });
  const kubeconfig = join(home, 'kubeconfig');
  sandbox.api.writeKubeconfig(kubeconfig, user);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
    HOME: home,
    KUBECACHEDIR: join(home, 'cache'),
    KUBECONFIG: kubeconfig,
  };
  const start = (args: string[], options: { env?: Record<string, string> } = {}): RunningPlugin => {
    const child = spawn('kubectl', args, { env: { ...env, ...options.env } });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<PluginResult>((resolve) =>
      child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr })),
    );
    const printed = (text: string | RegExp) =>
      typeof text === 'string' ? stderr.includes(text) : text.test(stderr);
    return {
      child,
      exited,
      async waitForStderr(text) {
        while (!printed(text)) {
          const ended = await Promise.race([
            once(child.stderr, 'data').then(() => false),
            exited.then(() => true),
          ]);
          if (ended && !printed(text))
            throw new Error(`kubectl exited before printing ${String(text)}: ${stderr}`);
        }
      },
    };
  };
  return {
    kubeconfig,
    env,
    start,
    run(args, options = {}) {
      const running = start(args, options.env ? { env: options.env } : {});
      running.child.stdin.end(options.stdin ?? '');
      return running.exited;
    },
  };
}

export interface PluginCluster {
  sandbox: Sandbox;
  bin: string;
  demo: ManagedCluster;
  kubectl: KubectlEtcd;
  /** `kubectl etcd <args>` as the admin. */
  etcd: (...args: string[]) => Promise<PluginResult>;
}

/** A sandbox with the 3-member TLS EtcdCluster `demo`, and the plugin built and on kubectl's PATH. */
export async function startPluginCluster(t: Teardown, options: SandboxOptions = {}): Promise<PluginCluster> {
  const sandbox = await startTestSandbox(t, options);
  const bin = await buildPlugin(t);
  const demo = await createManagedCluster(t, sandbox, { name: 'demo' });
  const kubectl = kubectlEtcd(t, sandbox, bin);
  return { sandbox, bin, demo, kubectl, etcd: (...args) => kubectl.run(['etcd', ...args]) };
}

async function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

export interface ManagedCluster {
  cluster: Wire<EtcdCluster>;
  names: ClusterNames;
  members: string[];
  /** The operator's client certificate (what `<name>-client-tls` holds). */
  clientTls: TlsMaterial;
  /** An EtcdAdmin through port-forwards (not lib/access), closed at teardown. */
  admin(): Promise<EtcdAdmin>;
  /** An etcd3 client on one member through a port-forward, closed at teardown. */
  client(member?: string): Promise<Etcd3>;
}

export interface ManagedClusterOptions {
  name: string;
  namespace?: string;
  size?: number;
  version?: string;
}

/**
 * A TLS EtcdCluster built as the operator builds one: the EtcdCluster object, its CA and the peer,
 * server and client Secrets, the peer and client Services, one claim and one Pod per member
 * bootstrapped together; then, once every member is ready, its status as the operator reports it.
 */
export async function createManagedCluster(
  t: Teardown,
  sandbox: Sandbox,
  options: ManagedClusterOptions,
): Promise<ManagedCluster> {
  const kube = new KubeClient(sandbox.kubeConfig);
  t.teardown(() => kube.close());
  const namespace = options.namespace ?? 'default';
  await ensureNamespace(kube, namespace);
  const created = await kube.create(EtcdClusters, {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: options.name, namespace },
    spec: { size: options.size ?? 3, version: options.version ?? '3.5.9' },
  } as Wire<EtcdCluster>);
  const cluster = parseEtcdCluster(created).object;
  const names = clusterNames(cluster);
  const plan = planClusterCertificates(cluster, {
    name: names.cluster,
    namespace,
    peerServiceName: names.peerService,
    clientServiceName: names.clientService,
  })!;
  const ca = issueClusterCA(plan.ca!);
  await kube.create(Secrets, buildCaSecret(plan.ca!.secretName, namespace, ca));
  let clientTls: TlsMaterial | undefined;
  for (const leaf of plan.leaves) {
    const material = issueLeaf(ca, leaf);
    if (leaf.role === 'client') clientTls = material;
    await kube.create(Secrets, buildTlsSecret(leaf.secretName, namespace, material));
  }
  await kube.create(Services, peerService(cluster, names));
  await kube.create(Services, clientService(cluster, names));
  const members = Array.from({ length: cluster.spec.size }, (_, i) => memberName(names.cluster, i));
  const initialCluster = initialClusterFlag(names, members, true);
  for (const member of members) {
    await kube.create(PersistentVolumeClaims, memberClaim(cluster, names, member, initialCluster));
    await kube.create(Pods, memberPod(cluster, names, member, { initialCluster, state: 'new' }));
  }
  await waitReady(kube, namespace, members);
  const client = async (member = members[0]!): Promise<Etcd3> => {
    const forward = await forwardPort(sandbox.kubeConfig, namespace, member, 2379);
    const client = new Etcd3({
      hosts: `https://127.0.0.1:${forward.localPort}`,
      faultHandling: { host: () => noop, global: noop },
      credentials: {
        rootCertificate: Buffer.from(clientTls!.caCert),
        certChain: Buffer.from(clientTls!.cert),
        privateKey: Buffer.from(clientTls!.key),
      },
      grpcOptions: {
        'grpc.ssl_target_name_override': `${member}.${names.peerService}.${namespace}.svc`,
        'grpc.default_authority': `${member}.${names.peerService}.${namespace}.svc`,
      },
    });
    t.teardown(async () => {
      client.close();
      await forward.close();
    });
    return client;
  };
  const managed: ManagedCluster = {
    cluster: created,
    names,
    members,
    clientTls: clientTls!,
    admin: async () => {
      const forwards = await Promise.all(
        members.map((m) => forwardPort(sandbox.kubeConfig, namespace, m, 2379)),
      );
      const admin = createEtcdAdmin({
        endpoints: forwards.map((f, i) => ({
          url: `https://127.0.0.1:${f.localPort}`,
          serverName: `${members[i]}.${names.peerService}.${namespace}.svc`,
        })),
        tls: { caCert: clientTls!.caCert, cert: clientTls!.cert, key: clientTls!.key },
      });
      t.teardown(async () => {
        admin.close();
        await Promise.all(forwards.map((f) => f.close()));
      });
      return admin;
    },
    client,
  };
  await reportStatus(kube, managed, await managed.admin());
  return managed;
}

/** The status the operator would report for a settled cluster. */
export async function reportStatus(
  kube: KubeClient,
  managed: ManagedCluster,
  admin: EtcdAdmin,
): Promise<void> {
  const { names } = managed;
  const list = await admin.memberList();
  const statuses = (await admin.statusAll()).flatMap((s) => ('error' in s ? [] : [s]));
  const leader = statuses.find((s) => s.isLeader);
  const status = {
    phase: 'Running',
    observedGeneration: managed.cluster.metadata?.generation ?? 1,
    readyReplicas: list.members.filter((m) => !m.isLearner).length,
    selector: `etcd.io/cluster=${names.cluster}`,
    clusterID: list.clusterId,
    currentVersion: statuses[0]?.version,
    ...(leader ? { leader: list.members.find((m) => m.id === leader.memberId)?.name } : {}),
    members: list.members.map((m) => ({
      name: m.name,
      id: m.id,
      peerURL: m.peerURLs[0],
      clientURL: m.clientURLs[0],
      isLeader: leader?.memberId === m.id,
      isLearner: m.isLearner,
      healthy: true,
      version: statuses.find((s) => s.memberId === m.id)?.version,
    })),
  };
  await kube.patch(
    EtcdClusters,
    { namespace: names.namespace, name: names.cluster },
    { type: 'merge', body: { status } },
    { subresource: 'status' },
  );
}

export interface StaticEtcd {
  namespace: string;
  pod: string;
  /** The directory standing for the control-plane node's /etc/kubernetes/pki/etcd. */
  pkiDir: string;
}

/**
 * A kubeadm-style static etcd pod in kube-system: `etcd-<node>`, labelled component=etcd and
 * tier=control-plane, its command line naming certificate files in a hostPath the node holds
 * (/etc/kubernetes/pki/etcd), the server certificate doubling as a client one as kubeadm issues it.
 */
export async function createStaticEtcd(
  t: Teardown,
  sandbox: Sandbox,
  image = 'registry.k8s.io/etcd:3.5.15-0',
): Promise<StaticEtcd> {
  const kube = new KubeClient(sandbox.kubeConfig);
  t.teardown(() => kube.close());
  const node = mkdtempSync(join(tmpdir(), 'static-etcd-'));
  t.teardown(() => rmSync(node, { recursive: true, force: true }));
  const pkiDir = join(node, 'pki', 'etcd');
  const dataDir = join(node, 'data');
  mkdirSync(pkiDir, { recursive: true });
  mkdirSync(dataDir);
  const ca: KeyPair = createCertificateAuthority({ commonName: 'etcd-ca', validityMs: 86_400_000 });
  const server = issueCertificate(ca, {
    commonName: 'sandbox',
    dnsNames: ['sandbox', 'localhost'],
    ipAddresses: ['127.0.0.1'],
    usages: ['server', 'client'],
    validityMs: 86_400_000,
  });
  writeFileSync(join(pkiDir, 'ca.crt'), ca.cert);
  writeFileSync(join(pkiDir, 'server.crt'), server.cert);
  writeFileSync(join(pkiDir, 'server.key'), server.key, { mode: 0o600 });
  const pki = '/etc/kubernetes/pki/etcd';
  const pod: Pod = {
    metadata: {
      name: 'etcd-sandbox',
      namespace: 'kube-system',
      labels: { component: 'etcd', tier: 'control-plane' },
    },
    spec: {
      containers: [
        {
          name: 'etcd',
          image,
          command: [
            'etcd',
            '--name=sandbox',
            '--data-dir=/var/lib/etcd',
            '--advertise-client-urls=https://127.0.0.1:2379',
            '--listen-client-urls=https://127.0.0.1:2379',
            '--listen-peer-urls=http://127.0.0.1:2380',
            '--initial-advertise-peer-urls=http://127.0.0.1:2380',
            '--initial-cluster=sandbox=http://127.0.0.1:2380',
            '--listen-metrics-urls=http://0.0.0.0:2381',
            `--cert-file=${pki}/server.crt`,
            `--key-file=${pki}/server.key`,
            `--trusted-ca-file=${pki}/ca.crt`,
            '--client-cert-auth=true',
          ],
          volumeMounts: [
            { name: 'etcd-certs', mountPath: pki },
            { name: 'etcd-data', mountPath: '/var/lib/etcd' },
          ],
          readinessProbe: { httpGet: { path: '/health', port: 2381 }, periodSeconds: 1 },
        },
      ],
      volumes: [
        { name: 'etcd-certs', hostPath: { path: pkiDir, type: 'DirectoryOrCreate' } },
        { name: 'etcd-data', hostPath: { path: dataDir, type: 'DirectoryOrCreate' } },
      ],
    },
  };
  await kube.create(Pods, pod);
  await waitReady(kube, 'kube-system', ['etcd-sandbox']);
  return { namespace: 'kube-system', pod: 'etcd-sandbox', pkiDir };
}

/** A Role and RoleBinding in `namespace` granting `user` what `rules` say. */
export async function grant(
  sandbox: Sandbox,
  user: string,
  namespace: string,
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[],
): Promise<void> {
  const kube = new KubeClient(sandbox.kubeConfig);
  try {
    const Roles = resourceType<KubeObject & { rules: unknown }>(
      'rbac.authorization.k8s.io/v1',
      'Role',
      'roles',
      true,
    );
    const Bindings = resourceType<KubeObject & { roleRef: unknown; subjects: unknown }>(
      'rbac.authorization.k8s.io/v1',
      'RoleBinding',
      'rolebindings',
      true,
    );
    await kube.create(Roles, { metadata: { name: user, namespace }, rules });
    await kube.create(Bindings, {
      metadata: { name: user, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    });
  } finally {
    kube.close();
  }
}

async function ensureNamespace(kube: KubeClient, namespace: string): Promise<void> {
  await kube.create(Namespaces, { metadata: { name: namespace } }).catch((err: Error) => {
    if (!/already exists/.test(err.message)) throw err;
  });
}

async function waitReady(kube: KubeClient, namespace: string, pods: string[]): Promise<void> {
  await eventually(
    `pods ${pods.join(', ')} ready`,
    async () => {
      const ready = await Promise.all(
        pods.map(async (name) => podReady((await kube.get(Pods, { namespace, name })) as never)),
      );
      return ready.every(Boolean) ? true : undefined;
    },
    120_000,
  );
}
