/**
 * A real multi-member etcd cluster on loopback for tests, with or without TLS, stopped and removed
 * when the test ends.
 *
 * Each member listens on its own 127.a.b.N address. Peers reach each other by DNS names under a
 * peer "Service" (`m0.test-peers.<ns>.svc`), as in Kubernetes: every etcd (and etcdctl) runs in its
 * own mount namespace (`unshare --mount`) with a private /etc/hosts bound over the real one, so the
 * machine's /etc/hosts is never touched. Certificates come from lib/tls, planned for that naming.
 *
 * On loopback every peer connection comes from 127.0.0.1. etcd checks a peer's client certificate
 * against the connecting address (reverse lookup, then forward lookup of non-wildcard names); the
 * hosts file gives 127.0.0.1 a name under the peer Service, as CoreDNS's PTR records do for the
 * pod IPs of a headless Service. `loopbackPeerName: null` leaves that name out.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { parseEtcdCluster } from '../../lib/api/index.js';
import { createEtcdAdmin, type EtcdAdmin, type EtcdAdminOptions } from '../../lib/etcd/index.js';
import {
  issueClusterCA,
  issueLeaf,
  memberDnsName,
  planClusterCertificates,
  type ClusterNaming,
  type KeyPair,
  type TlsMaterial,
} from '../../lib/tls/index.js';
import { findEtcd, type EtcdBinaries } from '../../sandbox/binaries.js';
import { freePort } from './etcd.js';

const run = promisify(execFile);
/** Members' addresses are 127.a.b.(slot+1); the hosts file names this many slots up front. */
const MAX_SLOTS = 9;

export interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface ClusterOptions {
  /** etcd minor: `3.5`, `3.6`. */
  version: string;
  size: number;
  tls?: boolean;
  quotaBackendBytes?: number;
  /** The name the hosts file gives 127.0.0.1; null for none. Default: one under the peer Service. */
  loopbackPeerName?: string | null;
  /** Pass etcd's flag that skips the SAN check of peers' client certificates. */
  skipPeerSanVerification?: boolean;
  /** Wait until every member is healthy (default true). */
  wait?: boolean;
  /** A snapshot file each initial member's data dir is restored from (`etcdutl snapshot restore`). */
  restoreFrom?: string;
}

/** A member slot: its name, address and URLs. */
export interface MemberSpec {
  name: string;
  ip: string;
  dnsName: string;
  clientURL: string;
  peerURL: string;
  /** Plain-HTTP /health and /metrics, no certificate needed. */
  metricsURL: string;
  dataDir: string;
  logFile: string;
}

export interface TestMember extends MemberSpec {
  process: ChildProcess;
  exited: Promise<void>;
}

export interface TestTls {
  ca: KeyPair;
  /** The operator's client certificate. */
  client: TlsMaterial;
  /** PEM files for etcdctl: ca.crt, client.crt, client.key. */
  files: { ca: string; cert: string; key: string };
}

export interface TestCluster {
  binaries: EtcdBinaries;
  naming: ClusterNaming;
  dir: string;
  members: Map<string, TestMember>;
  tls?: TestTls;
  /** An EtcdAdmin on the given members (default: all running), TLS and server names set; closed at teardown. */
  admin(options?: { members?: string[] } & Partial<EtcdAdminOptions>): EtcdAdmin;
  /** The next free member slot, with free ports on its address (not started). */
  allocateMember(): Promise<MemberSpec>;
  /** Starts a member process; `initialCluster` is `name=peerURL,…` as etcd wants it. */
  startMember(spec: MemberSpec, initialCluster: string, state: 'new' | 'existing'): TestMember;
  /** Stops a member (SIGTERM, or SIGKILL to crash it) and waits until it has exited. */
  stopMember(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Waits until the member's /health says true (it has a leader and no alarm). */
  waitHealthy(name: string, attempts?: number): Promise<void>;
  /** A plain etcd3 client on one member (default m0) for reads and writes; closed at teardown. */
  kv(member?: string): Etcd3;
  /** etcdctl (in the members' DNS view, with the client certificate) against the given members' client URLs. */
  etcdctl(args: string[], members?: string[]): Promise<string>;
}

/** Runs `argv` with `hosts` as its /etc/hosts, in a private mount namespace. */
function inHostsView(hosts: string, argv: string[]): [string, string[]] {
  const unshare = process.getuid?.() === 0 ? ['--mount'] : ['--map-root-user', '--mount'];
  return [
    'unshare',
    [...unshare, '--', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts, ...argv],
  ];
}

export async function startEtcdCluster(t: Teardown, options: ClusterOptions): Promise<TestCluster> {
  const binaries = findEtcd(options.version);
  const dir = mkdtempSync(join(tmpdir(), 'etcd-cluster-'));
  const members = new Map<string, TestMember>();
  const admins: EtcdAdmin[] = [];
  const clients: Etcd3[] = [];
  t.teardown(async () => {
    for (const a of admins) a.close();
    for (const c of clients) c.close();
    await Promise.all([...members.values()].map((m) => stop(m, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  const suffix = Math.random().toString(36).slice(2, 8);
  const naming: ClusterNaming = {
    name: 'test',
    namespace: `ns-${suffix}`,
    peerServiceName: 'test-peers',
    clientServiceName: 'test-client',
  };
  const prefix = `127.${64 + Math.floor(Math.random() * 190)}.${1 + Math.floor(Math.random() * 254)}`;
  const slots = Array.from({ length: MAX_SLOTS }, (_, i) => ({
    name: `m${i}`,
    ip: `${prefix}.${i + 1}`,
    dnsName: memberDnsName(naming, `m${i}`),
  }));
  const loopbackName =
    options.loopbackPeerName === undefined
      ? `loopback.${naming.peerServiceName}.${naming.namespace}.svc`
      : options.loopbackPeerName;
  const hosts = join(dir, 'hosts');
  writeFileSync(
    hosts,
    [
      `127.0.0.1 localhost${loopbackName ? ` ${loopbackName}` : ''}`,
      '::1 localhost',
      ...slots.map((s) => `${s.ip} ${s.dnsName} ${s.dnsName}.cluster.local`),
      '',
    ].join('\n'),
  );

  const tls = options.tls ? writeCertificates(dir, naming) : undefined;
  const scheme = tls ? 'https' : 'http';
  let used = 0;

  const allocate = async (): Promise<MemberSpec> => {
    const slot = slots[used++];
    if (!slot) throw new Error(`no more than ${MAX_SLOTS} members in a test cluster`);
    // A port free on 127.0.0.1 is free on 127.a.b.N too: only a wildcard bind would hold both.
    const [client, peer, metrics] = [await freePort(), await freePort(), await freePort()];
    return {
      ...slot,
      clientURL: `${scheme}://${slot.ip}:${client}`,
      peerURL: `${scheme}://${slot.dnsName}:${peer}`,
      metricsURL: `http://${slot.ip}:${metrics}`,
      dataDir: join(dir, slot.name),
      logFile: join(dir, `${slot.name}.log`),
    };
  };

  const startMember = (spec: MemberSpec, initialCluster: string, state: 'new' | 'existing'): TestMember => {
    mkdirSync(spec.dataDir, { recursive: true });
    const peerPort = new URL(spec.peerURL).port;
    const args = [
      `--name=${spec.name}`,
      `--data-dir=${spec.dataDir}`,
      `--listen-client-urls=${spec.clientURL}`,
      `--advertise-client-urls=${spec.clientURL}`,
      `--listen-peer-urls=${scheme}://${spec.ip}:${peerPort}`,
      `--initial-advertise-peer-urls=${spec.peerURL}`,
      `--listen-metrics-urls=${spec.metricsURL}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${state}`,
      `--initial-cluster-token=${naming.namespace}`,
      ...(binaries.version.startsWith('3.4') ? [] : ['--unsafe-no-fsync']),
      ...(options.quotaBackendBytes ? [`--quota-backend-bytes=${options.quotaBackendBytes}`] : []),
      ...(tls ? tlsFlags(dir) : []),
      ...(options.skipPeerSanVerification ? [skipSanFlag(binaries.version)] : []),
    ];
    const log = openSync(spec.logFile, 'a');
    const [command, argv] = inHostsView(hosts, [binaries.etcd, ...args]);
    const child = spawn(command, argv, { stdio: ['ignore', log, log] });
    closeSync(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const member = { ...spec, process: child, exited };
    members.set(spec.name, member);
    return member;
  };

  const waitHealthy = async (name: string, attempts = 300): Promise<void> => {
    const member = members.get(name);
    if (!member) throw new Error(`no member ${name}`);
    for (let i = 0; i < attempts; i++) {
      const body = await fetch(`${member.metricsURL}/health`).then(
        (r) => r.text(),
        () => '',
      );
      if (body.includes('"health":"true"')) return;
      if (!isRunning(member)) throw new Error(`etcd ${name} exited: ${tail(member.logFile)}`);
      await sleep(100);
    }
    throw new Error(`etcd ${name} did not become healthy: ${tail(member.logFile)}`);
  };

  const running = () => [...members.values()].filter(isRunning).map((m) => m.name);

  const specs: MemberSpec[] = [];
  for (let i = 0; i < options.size; i++) specs.push(await allocate());
  const initialCluster = specs.map((s) => `${s.name}=${s.peerURL}`).join(',');
  if (options.restoreFrom) {
    if (!binaries.etcdutl) throw new Error(`etcd ${binaries.version} has no etcdutl`);
    for (const spec of specs) {
      const [command, argv] = inHostsView(hosts, [
        binaries.etcdutl,
        'snapshot',
        'restore',
        options.restoreFrom,
        `--data-dir=${spec.dataDir}`,
        `--name=${spec.name}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${naming.namespace}`,
        `--initial-advertise-peer-urls=${spec.peerURL}`,
      ]);
      await run(command, argv);
    }
  }
  for (const spec of specs) startMember(spec, initialCluster, 'new');

  const cluster: TestCluster = {
    binaries,
    naming,
    dir,
    members,
    ...(tls ? { tls } : {}),
    admin(opts = {}) {
      const names = opts.members ?? running();
      const admin = createEtcdAdmin({
        endpoints: names.map((n) => ({
          url: members.get(n)!.clientURL,
          serverName: members.get(n)!.dnsName,
        })),
        ...(tls ? { tls: { caCert: tls.ca.cert, cert: tls.client.cert, key: tls.client.key } } : {}),
        ...opts,
      });
      admins.push(admin);
      return admin;
    },
    kv(name = 'm0') {
      const m = members.get(name)!;
      const client = new Etcd3({
        hosts: m.clientURL,
        // etcd3's default breaker would block every call for 5 s after three refusals (e.g. NOSPACE).
        faultHandling: { host: () => noop, global: noop },
        ...(tls
          ? {
              credentials: {
                rootCertificate: Buffer.from(tls.ca.cert),
                certChain: Buffer.from(tls.client.cert),
                privateKey: Buffer.from(tls.client.key),
              },
              grpcOptions: {
                'grpc.ssl_target_name_override': m.dnsName,
                'grpc.default_authority': m.dnsName,
              },
            }
          : {}),
      });
      clients.push(client);
      return client;
    },
    allocateMember: allocate,
    startMember,
    stopMember: async (name, signal = 'SIGTERM') => {
      const member = members.get(name);
      if (member) await stop(member, signal);
    },
    waitHealthy,
    async etcdctl(args, names) {
      const endpoints = (names ?? running()).map((n) => {
        const m = members.get(n)!;
        return `${scheme}://${m.dnsName}:${new URL(m.clientURL).port}`;
      });
      const flags = tls
        ? [`--cacert=${tls.files.ca}`, `--cert=${tls.files.cert}`, `--key=${tls.files.key}`]
        : [];
      const [command, argv] = inHostsView(hosts, [
        binaries.etcdctl,
        `--endpoints=${endpoints.join(',')}`,
        ...flags,
        ...args,
      ]);
      const { stdout } = await run(command, argv, { env: { ...process.env, ETCDCTL_API: '3' } });
      return stdout;
    },
  };
  if (options.wait ?? true) await Promise.all(specs.map((s) => waitHealthy(s.name)));
  return cluster;
}

/** `name=peerURL,…` for a member joining `members` (as a member list reports them). */
export function initialClusterFor(
  joining: MemberSpec,
  members: readonly { name: string; peerURLs: string[] }[],
): string {
  return members
    .map((m) => `${m.name || joining.name}=${m.name ? m.peerURLs[0] : joining.peerURL}`)
    .join(',');
}

function isRunning(member: TestMember): boolean {
  return member.process.exitCode === null && member.process.signalCode === null;
}

async function stop(member: TestMember, signal: NodeJS.Signals): Promise<void> {
  if (isRunning(member)) member.process.kill(signal);
  await member.exited;
}

function writeCertificates(dir: string, naming: ClusterNaming): TestTls {
  const resource = parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: naming.name, namespace: naming.namespace },
    spec: {},
  }).object;
  const plan = planClusterCertificates(resource, naming)!;
  const ca = issueClusterCA(plan.ca!);
  const issued = Object.fromEntries(plan.leaves.map((leaf) => [leaf.role, issueLeaf(ca, leaf)])) as Record<
    'peer' | 'server' | 'client',
    TlsMaterial
  >;
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir);
  const files: Record<string, string> = { 'ca.crt': ca.cert };
  for (const [role, m] of Object.entries(issued)) {
    files[`${role}.crt`] = m.cert;
    files[`${role}.key`] = m.key;
  }
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(tlsDir, name), content, { mode: 0o600 });
  return {
    ca,
    client: issued.client,
    files: { ca: join(tlsDir, 'ca.crt'), cert: join(tlsDir, 'client.crt'), key: join(tlsDir, 'client.key') },
  };
}

function tlsFlags(dir: string): string[] {
  const f = (name: string) => join(dir, 'tls', name);
  return [
    `--cert-file=${f('server.crt')}`,
    `--key-file=${f('server.key')}`,
    `--trusted-ca-file=${f('ca.crt')}`,
    '--client-cert-auth',
    `--peer-cert-file=${f('peer.crt')}`,
    `--peer-key-file=${f('peer.key')}`,
    `--peer-trusted-ca-file=${f('ca.crt')}`,
    '--peer-client-cert-auth',
  ];
}

/** 3.5 spells it experimental; 3.6 deprecates that spelling. */
function skipSanFlag(version: string): string {
  return version.startsWith('3.5')
    ? '--experimental-peer-skip-client-san-verification'
    : '--peer-skip-client-san-verification';
}

/** The last lines of a log, for failure messages. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
