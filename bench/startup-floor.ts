/**
 * The floor of a cluster's start-up: the etcd processes an EtcdCluster's pods would run, with the very
 * flags the operator gives them (lib/cluster's memberPod), started together as local processes — no
 * API server, no runtime, no operator — and timed from the first spawn until every member's /health
 * says true.
 *
 * Each member listens on its own loopback address (127.a.b.N) on the pods' ports, and resolves its
 * peers' DNS names through a private /etc/hosts (`unshare --mount`, a bind mount), as a pod does
 * through the runtime's hosts file. Peer connections on loopback come from 127.0.0.1, which the hosts
 * file names under the peer Service so that etcd's peer certificate check accepts them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseEtcdCluster, type EtcdCluster } from '../lib/api/index.js';
import {
  clusterNames,
  initialClusterFlag,
  memberHost,
  memberName,
  memberPod,
  METRICS_PORT,
} from '../lib/cluster/index.js';
import {
  CA_CERT_KEY,
  issueClusterCA,
  issueLeaf,
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
} from '../lib/tls/index.js';
import type { EtcdBinaries } from '../sandbox/binaries.js';
import { certificatePlan } from './certificate-cost.js';
import { longestBootstrapCheck, parseEtcdStart } from './etcd-start-log.js';

/** Where memberPod puts the data and the certificates inside a pod; replaced by local directories. */
const POD_DATA_DIR = '/var/lib/etcd';
const POD_PKI_DIR = '/etc/etcd/pki';
const POD_LISTEN_HOST = '0.0.0.0';
const HEALTHY_WITHIN_MS = 30_000;

export type FloorStart = 'together' | 'one-by-one';

export interface FloorOptions {
  etcd: EtcdBinaries;
  size: number;
  tls: boolean;
  start: FloorStart;
  /** Interval of each member's /health poll. */
  pollMs: number;
}

export interface FloorSample {
  /** From the first spawn until every member's metrics port answers at all (its server is up). */
  answeringMs: number;
  /** From the first spawn until every member's /health says true. */
  healthyMs: number;
  /** The longest time a member spent asking its peers whether it was bootstrapped (see etcd-start-log). */
  bootstrapCheckMs?: number;
}

interface Member {
  name: string;
  ip: string;
  argv: string[];
  log: string;
}

/**
 * One timed start of a `size`-member cluster; every process and file is gone when it returns.
 * `together` spawns every member at once; `one-by-one` spawns each once the one before answers on its
 * metrics port, which spares etcd's bootstrap check its one-second waits on peers that listen but do
 * not serve yet.
 */
export async function timeFloor(options: FloorOptions): Promise<FloorSample> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
  const children: ChildProcess[] = [];
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {}); // the children exit at the end too, when nothing waits any more
  try {
    const members = prepare(dir, options);
    const started = performance.now();
    const samples: Promise<FloorSample>[] = [];
    for (const m of members) {
      const child = startInHostsView(join(dir, 'hosts'), m);
      children.push(child);
      child.once('exit', (code) => fail(new Error(`etcd ${m.name} exited (${code}): ${tail(m.log)}`)));
      const poll = pollHealth(m, options.pollMs, started);
      samples.push(poll.sample);
      if (options.start === 'one-by-one') await Promise.race([poll.answered, poll.sample, failed]);
    }
    const polled = await Promise.race([Promise.all(samples), failed]);
    const bootstrapCheckMs = longestBootstrapCheck(members.map((m) => parseEtcdStart(readLog(m.log))));
    return {
      answeringMs: Math.max(...polled.map((p) => p.answeringMs)),
      healthyMs: Math.max(...polled.map((p) => p.healthyMs)),
      ...(bootstrapCheckMs !== undefined ? { bootstrapCheckMs } : {}),
    };
  } finally {
    await Promise.all(children.map(kill));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Certificates, hosts file and command lines, all before the clock starts. */
function prepare(dir: string, options: FloorOptions): Member[] {
  const cluster = parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'floor', namespace: 'bench', uid: randomUUID() },
    spec: { size: options.size, security: { tls: { enabled: options.tls } } },
  }).object;
  const names = clusterNames(cluster);
  const pki = join(dir, 'pki');
  if (options.tls) writeCertificates(cluster, pki);
  const prefix = `127.${64 + Math.floor(Math.random() * 190)}.${1 + Math.floor(Math.random() * 254)}`;
  const memberNames = Array.from({ length: options.size }, (_, i) => memberName(names.cluster, i));
  const start = {
    initialCluster: initialClusterFlag(names, memberNames, options.tls),
    state: 'new' as const,
  };
  const members = memberNames.map((name, i): Member => {
    const ip = `${prefix}.${i + 1}`;
    const args = memberPod(cluster, names, name, start).spec?.containers[0]?.args ?? [];
    const local = localArgs(args, { ip, dataDir: join(dir, name), pkiDir: pki, tls: options.tls });
    return { name, ip, argv: [options.etcd.etcd, ...local], log: join(dir, `${name}.log`) };
  });
  writeFileSync(
    join(dir, 'hosts'),
    [
      `127.0.0.1 localhost loopback.${names.peerService}.${names.namespace}.svc`,
      ...members.map((m) => `${m.ip} ${memberHost(names, m.name)}`),
      '',
    ].join('\n'),
  );
  return members;
}

/** A pod's etcd flags with its addresses and paths made local; fails if a pod path is no longer there. */
function localArgs(
  args: readonly string[],
  local: { ip: string; dataDir: string; pkiDir: string; tls: boolean },
): string[] {
  const replacements: [string, string][] = [
    [POD_LISTEN_HOST, local.ip],
    [POD_DATA_DIR, local.dataDir],
    ...(local.tls ? [[POD_PKI_DIR, local.pkiDir] as [string, string]] : []),
  ];
  for (const [from] of replacements) {
    if (!args.some((a) => a.includes(from))) {
      throw new Error(`the member's etcd flags no longer mention ${from}: update bench/startup-floor.ts`);
    }
  }
  return args.map((a) => replacements.reduce((arg, [from, to]) => arg.replaceAll(from, to), a));
}

/** The cluster's CA and leaves from lib/tls, laid out as the pods' Secret volumes are. */
function writeCertificates(cluster: EtcdCluster, pki: string): void {
  const plan = certificatePlan(cluster);
  const ca = issueClusterCA(plan.ca);
  for (const leaf of plan.leaves.filter((l) => l.role !== 'client')) {
    const material = issueLeaf(ca, leaf);
    const roleDir = join(pki, leaf.role);
    mkdirSync(roleDir, { recursive: true });
    writeFileSync(join(roleDir, TLS_CERT_KEY), material.cert);
    writeFileSync(join(roleDir, TLS_PRIVATE_KEY_KEY), material.key, { mode: 0o400 });
    writeFileSync(join(roleDir, CA_CERT_KEY), material.caCert);
  }
}

function startInHostsView(hosts: string, member: Member): ChildProcess {
  const userns = process.getuid?.() === 0 ? [] : ['--map-root-user'];
  const log = openSync(member.log, 'a');
  const child = spawn(
    'unshare',
    [
      ...userns,
      '--mount',
      '--',
      'sh',
      '-c',
      'mount --bind "$0" /etc/hosts && exec "$@"',
      hosts,
      ...member.argv,
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  return child;
}

/** Polls a member's /health: `answered` once it answers at all, `sample` once it says true. */
function pollHealth(
  member: Member,
  pollMs: number,
  started: number,
): { answered: Promise<void>; sample: Promise<FloorSample> } {
  const url = `http://${member.ip}:${METRICS_PORT}/health`;
  let onAnswer: () => void = () => {};
  const answered = new Promise<void>((resolve) => (onAnswer = resolve));
  const sample = (async () => {
    let answeringMs: number | undefined;
    while (performance.now() - started < HEALTHY_WITHIN_MS) {
      const body = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.text(),
        () => undefined,
      );
      if (body !== undefined) {
        answeringMs ??= performance.now() - started;
        onAnswer();
      }
      if (body?.includes('"health":"true"')) {
        return { answeringMs: answeringMs ?? 0, healthyMs: performance.now() - started };
      }
      await sleep(pollMs);
    }
    throw new Error(
      `etcd ${member.name} was not healthy within ${HEALTHY_WITHIN_MS} ms: ${tail(member.log)}`,
    );
  })();
  return { answered, sample };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

function readLog(file: string | undefined): string {
  try {
    return readFileSync(file ?? '', 'utf8');
  } catch {
    return '';
  }
}

function tail(file: string | undefined, lines = 10): string {
  return readLog(file).trimEnd().split('\n').slice(-lines).join('\n') || '(no log)';
}
