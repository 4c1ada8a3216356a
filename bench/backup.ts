/**
 * Backup throughput and memory (issue 11): lib/backup's runBackup — the snapshot streamed from a
 * member, checked on the fly (size, SHA-256, etcd's trailer), committed by the store, read back and
 * checked, then its manifest — into the volume store and into S3 (versitygw, a real S3 server on
 * loopback), against `etcdctl snapshot save` to a local file, on the same etcd in the same run.
 *
 *   node --import tsx bench/backup.ts [--size-mib 256] [--runs 3]
 *
 * It fills one etcd 3.5 (1 MiB values, until its database holds --size-mib) and runs every command
 * --runs times in turns after one warm-up round, so that a busy moment hits every command alike;
 * it prints medians. Goals: at least 0.8× etcdctl's throughput; the streaming process's peak RSS
 * within 64 MiB of its idle RSS.
 *
 * Each backup runs in its own process (this file with --child), so that the harness does not
 * pollute its memory: idle RSS is that process once every module is loaded and the run's inputs are
 * built, just before runBackup; peak RSS is the kernel's high-water mark (VmHWM, reset to the idle
 * RSS through /proc/self/clear_refs at that moment). Its time is taken inside it, around runBackup
 * alone; etcdctl's is its whole process (a Go binary starts in a few ms). CPU is that process's user
 * + system time (etcdctl's from /usr/bin/time, when present); etcd and the S3 server are not counted.
 *
 * The "upload only" rows stream the snapshot into the same store without what runBackup adds
 * around it (key count and hashKV at the snapshot's revision before, the read-back check and the
 * manifest after); they also time the hashKV and the read-back on their own, to show where the
 * difference goes.
 *
 * Needs the cached etcd 3.5 binaries (hack/etcd-binaries.sh) and versitygw
 * (hack/storage-binaries.sh). etcd listens on a 127.x.y.z loopback address at port 2379, the
 * client port the backup code connects to. Ctrl-C stops etcd, the S3 server and the child and
 * removes the temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EtcdBackup, StorageLocation } from '../generated/types.js';
import type { BackupDeps } from '../lib/backup/execute.js';
import type { KubeObject, ObjectKey, ObjectList, Patch, ResourceType } from '../lib/kube/index.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const CLIENT_PORT = 2379;
const NAMESPACE = 'bench';
const CLUSTER = 'bench';
const SECRET = 's3-credentials';
const CLAIM = 'snapshots';
const CHILD_ENV = 'BENCH_BACKUP_CHILD';
const GNU_TIME = '/usr/bin/time';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

type Target = 'volume' | 's3';
type Mode = 'run' | 'upload';

interface ChildConfig {
  mode: Mode;
  target: Target;
  /** The member's pod IP: it serves plain HTTP on CLIENT_PORT. */
  ip: string;
  /** Where the volume store's claim is. */
  claimDir: string;
  s3: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string };
}

/** One run of one command. */
interface Sample {
  ms: number;
  /** CPU time (user + system) of the process that took the snapshot, during the run. */
  cpuMs?: number;
  /** etcdctl's peak RSS, from /usr/bin/time, when it is there. */
  peakRss?: number;
}

interface ChildResult extends Sample {
  cpuMs: number;
  idleRss: number;
  peakRss: number;
  /** How the peak was taken: `hwm` (VmHWM after clear_refs) or `sampled` (VmRSS every 5 ms). */
  peakBy: 'hwm' | 'sampled';
  size: number;
  /** Upload mode only: hashKV at the snapshot's revision, and the read-back check, each on its own. */
  hashKvMs?: number;
  readBackMs?: number;
}

const childConfig = process.env[CHILD_ENV];
if (childConfig !== undefined) await child(JSON.parse(childConfig) as ChildConfig);
else await harness();

// ---------------------------------------------------------------------------------------------
// The streaming process.

/** VmRSS or VmHWM of this process, in bytes. */
function procStatus(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/self/status`);
  return Number(match[1]) * 1024;
}

async function child(config: ChildConfig): Promise<void> {
  // What the operator loads to run a backup, and nothing of the harness.
  const { runBackup } = await import('../lib/backup/execute.js');
  const { openStore } = await import('../lib/backup/stores.js');
  const { snapshotKey } = await import('../lib/backup/manifest.js');
  const { createEtcdAdmin, streamSnapshot } = await import('../lib/etcd/index.js');
  const { parseEtcdBackup, parseEtcdCluster } = await import('../lib/api/index.js');
  const { EventRecorder } = await import('../lib/kube/events.js');
  const { systemClock, silentLogger } = await import('../lib/kube/index.js');
  const { NotFoundError } = await import('../lib/errors.js');
  const { createHash } = await import('node:crypto');

  const storage: StorageLocation =
    config.target === 's3'
      ? {
          s3: {
            bucket: config.s3.bucket,
            endpoint: config.s3.endpoint,
            region: config.s3.region,
            forcePathStyle: true,
            credentialsSecret: { name: SECRET },
          },
        }
      : { volume: { claimName: CLAIM, path: '/' } };
  const cluster = parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: CLUSTER, namespace: NAMESPACE, uid: 'bench-cluster-uid' },
    spec: { size: 1, version: '3.5.35', security: { tls: { enabled: false } } },
  }).object;
  let backup: EtcdBackup = parseEtcdBackup({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdBackup',
    metadata: { name: 'bench-backup', namespace: NAMESPACE, uid: 'bench-backup-uid' },
    spec: { clusterName: CLUSTER, storage },
  }).object;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${CLUSTER}-0`, namespace: NAMESPACE, labels: { 'etcd.io/cluster': CLUSTER } },
    status: { podIP: config.ip, phase: 'Running' },
  };
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SECRET, namespace: NAMESPACE },
    data: {
      accessKeyId: Buffer.from(config.s3.accessKeyId).toString('base64'),
      secretAccessKey: Buffer.from(config.s3.secretAccessKey).toString('base64'),
    },
  };
  const list = <T extends KubeObject>(type: ResourceType<T>): Promise<ObjectList<T>> =>
    Promise.resolve({ items: (type.kind === 'Pod' ? [pod] : []) as unknown as T[], resourceVersion: '1' });
  // Only status merge patches of the EtcdBackup come here.
  const patch = <T extends KubeObject>(
    _type: ResourceType<T>,
    _key: ObjectKey,
    change: Patch,
  ): Promise<T> => {
    const body = change.type === 'merge' ? (change.body as { status?: EtcdBackup['status'] }) : {};
    backup = { ...backup, status: { ...backup.status, ...body.status } };
    return Promise.resolve(backup as unknown as T);
  };
  const warnings: string[] = [];
  const client = {
    get<T extends KubeObject>(type: ResourceType<T>, key: ObjectKey): Promise<T> {
      if (type.kind === 'Secret' && key.name === SECRET) return Promise.resolve(secret as unknown as T);
      return Promise.reject(new NotFoundError(`${type.plural} "${key.name}" not found`));
    },
    list,
    patch,
  };
  const recorder = new EventRecorder({
    component: 'bench-backup',
    client: {
      create<T extends KubeObject>(_type: ResourceType<T>, obj: T): Promise<T> {
        const event = obj as unknown as { type?: string; message?: string };
        if (event.type === 'Warning') warnings.push(event.message ?? '');
        return Promise.resolve(obj);
      },
      patch,
    },
  });
  const deps: BackupDeps = {
    client,
    cache: { list },
    recorder,
    logger: silentLogger,
    clock: systemClock,
    fieldManager: 'bench-backup',
    claimDir: () => config.claimDir,
  };
  const context = { kube: client, namespace: NAMESPACE, claimDir: () => config.claimDir };
  const endpoint = `http://${config.ip}:${CLIENT_PORT}`;

  // Idle: everything loaded and built. The high-water mark starts again from here.
  await sleep(50);
  let peakBy: ChildResult['peakBy'] = 'hwm';
  let sampledPeak = 0;
  let sampler: NodeJS.Timeout | undefined;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    peakBy = 'sampled';
    sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, procStatus('VmRSS'))), 5);
  }
  const idleRss = procStatus('VmRSS');
  const peak = () => (peakBy === 'hwm' ? procStatus('VmHWM') : Math.max(sampledPeak, procStatus('VmRSS')));

  let result: ChildResult;
  if (config.mode === 'run') {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const { ok } = await runBackup(backup, cluster, undefined, deps);
    const ms = performance.now() - started;
    const cpuMs = cpuTotalMs(process.cpuUsage(cpu));
    const peakRss = peak();
    if (!ok) throw new Error(`runBackup failed: ${warnings.join('; ') || JSON.stringify(backup.status)}`);
    result = { ms, cpuMs, idleRss, peakRss, peakBy, size: backup.status?.lastBackup?.size ?? 0 };
  } else {
    // The upload phase of runBackup alone: open the store, stream the member's snapshot into it.
    const admin = createEtcdAdmin({ endpoints: [endpoint], timeoutMs: 5_000 });
    try {
      const name = snapshotKey(CLUSTER, new Date());
      const cpu = process.cpuUsage();
      const started = performance.now();
      const store = await openStore(storage, context);
      const snapshot = await streamSnapshot(admin, endpoint);
      await store.put(name, Readable.from(snapshot.bytes), { contentType: 'application/octet-stream' });
      const { size, sha256 } = snapshot.digest();
      const ms = performance.now() - started;
      const cpuMs = cpuTotalMs(process.cpuUsage(cpu));
      const peakRss = peak();
      // Then, not timed above: what runBackup adds, each on its own.
      let mark = performance.now();
      await admin.hashKV(endpoint, snapshot.revision);
      const hashKvMs = performance.now() - mark;
      mark = performance.now();
      const hash = createHash('sha256');
      for await (const chunk of (await store.get(name)) as AsyncIterable<Buffer>) hash.update(chunk);
      if (hash.digest('hex') !== sha256) throw new Error(`${name} read back with another sha256`);
      const readBackMs = performance.now() - mark;
      result = { ms, cpuMs, idleRss, peakRss, peakBy, size, hashKvMs, readBackMs };
    } finally {
      admin.close();
    }
  }
  if (sampler) clearInterval(sampler);
  // Leave the store empty for the next run (untimed).
  const store = await openStore(storage, context);
  for (const object of await store.list('')) await store.delete(object.name);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // The S3 client's keep-alive sockets would hold the process open a while.
  process.exit(0);
}

function cpuTotalMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

// ---------------------------------------------------------------------------------------------
// The harness.

interface Command {
  label: string;
  /** Runs once; resolves with what it measured. */
  run(): Promise<Sample>;
}

async function harness(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'size-mib': { type: 'string', default: '256' },
      runs: { type: 'string', default: '3' },
    },
  });
  const sizeMiB = Number(values['size-mib']);
  const runs = Number(values.runs);
  if (!(sizeMiB > 0) || !Number.isInteger(runs) || runs < 1) {
    throw new Error('--size-mib must be a positive number and --runs a positive integer');
  }
  const { findEtcd } = await import('../sandbox/binaries.js');
  const { findStorageBinary, startS3Server } = await import('../sandbox/storage-servers.js');
  const { createEtcdAdmin } = await import('../lib/etcd/index.js');
  const { Etcd3 } = await import('etcd3');
  const binaries = findEtcd('3.5');
  findStorageBinary('versitygw');

  const root = mkdtempSync(join(tmpdir(), 'bench-backup-'));
  const teardowns: (() => void | Promise<void>)[] = [];
  let current: ChildProcess | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      if (current && current.exitCode === null) current.kill('SIGKILL');
      for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: cleaning up\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    const ip = await loopbackAddress();
    await startEtcd(binaries.etcd, ip, join(root, 'etcd'), Math.max(GiB, 4 * sizeMiB * MiB), teardowns);
    const s3 = await startS3Server({ teardown: (fn) => void teardowns.push(fn) });
    const endpoint = `http://${ip}:${CLIENT_PORT}`;

    const kv = new Etcd3({ hosts: endpoint });
    const admin = createEtcdAdmin({ endpoints: [endpoint], timeoutMs: 30_000 });
    teardowns.push(() => {
      kv.close();
      admin.close();
    });
    const fillStarted = performance.now();
    // Most of it 8 puts at a time, then one at a time until the database (the backend commits every
    // 100 ms; its size is what a snapshot streams, less etcd's 32-byte trailer) reaches the target.
    let i = 0;
    const put = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          kv.put(`/bench/${String(i++).padStart(6, '0')}`).value(randomBytes(MiB)),
        ),
      );
    const bulk = Math.floor(sizeMiB * 0.75);
    while (i < bulk) await put(Math.min(8, bulk - i));
    let dbSize = 0;
    for (;;) {
      await sleep(150);
      dbSize = (await admin.status(endpoint)).dbSize;
      if (dbSize >= sizeMiB * MiB) break;
      await put(Math.max(1, Math.min(8, Math.floor((sizeMiB * MiB - dbSize) / MiB / 2))));
    }
    process.stderr.write(
      `filled etcd ${binaries.version} at ${endpoint} to ${(dbSize / MiB).toFixed(1)} MiB in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s\n`,
    );

    const claimDir = join(root, 'claim');
    mkdirSync(claimDir);
    const snapshotFile = join(root, 'etcdctl.db');
    const timeFile = join(root, 'etcdctl.time');
    const config = (mode: Mode, target: Target): ChildConfig => ({
      mode,
      target,
      ip,
      claimDir,
      s3: {
        endpoint: s3.endpoint,
        region: s3.region,
        bucket: s3.buckets[0] ?? 'backups',
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
    });
    const track = (proc: ChildProcess) => (current = proc);
    const streaming = (label: string, mode: Mode, target: Target): Command => ({
      label,
      run: () => runChild(config(mode, target), track),
    });
    const commands: Command[] = [
      {
        label: 'etcdctl snapshot save → local file',
        run: async () => {
          const argv = [binaries.etcdctl, `--endpoints=${endpoint}`, 'snapshot', 'save', snapshotFile];
          // GNU time, when there, for etcdctl's CPU time and peak RSS (it adds a fork, ~1 ms).
          const timed = existsSync(GNU_TIME) ? [GNU_TIME, '-f', '%U %S %M', '-o', timeFile, ...argv] : argv;
          const started = performance.now();
          await runProcess(timed[0]!, timed.slice(1), { ETCDCTL_API: '3' }, track);
          const ms = performance.now() - started;
          rmSync(snapshotFile, { force: true });
          if (timed === argv) return { ms };
          const [user, system, maxKiB] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
          return { ms, cpuMs: ((user ?? 0) + (system ?? 0)) * 1000, peakRss: (maxKiB ?? 0) * 1024 };
        },
      },
      streaming('runBackup → volume store', 'run', 'volume'),
      streaming('runBackup → S3 (versitygw)', 'run', 's3'),
      streaming('  upload only → volume store', 'upload', 'volume'),
      streaming('  upload only → S3 (versitygw)', 'upload', 's3'),
    ];

    const samples = commands.map(() => [] as Sample[]);
    const loadBefore = loadavg()[0] ?? 0;
    for (let round = -1; round < runs; round++) {
      process.stderr.write(round < 0 ? 'warm-up round\n' : `round ${round + 1} of ${runs}\n`);
      for (const [j, command] of commands.entries()) {
        const sample = await command.run();
        if (round >= 0) samples[j]!.push(sample);
      }
    }
    const snapshotSize = samples
      .flat()
      .map((s) => ('size' in s && typeof s.size === 'number' ? s.size : 0))
      .find((s) => s > 0);
    printTable(commands, samples, { dbSize, snapshotSize: snapshotSize ?? dbSize, runs, loadBefore });
  } finally {
    await cleanup();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function printTable(
  commands: readonly Command[],
  samples: readonly Sample[][],
  info: { dbSize: number; snapshotSize: number; runs: number; loadBefore: number },
): void {
  const mib = (bytes: number) => (bytes / MiB).toFixed(1);
  console.log(
    `backup of an etcd database of ${mib(info.dbSize)} MiB (snapshot ${mib(info.snapshotSize)} MiB), ` +
      `median of ${info.runs} runs in turns after a warm-up; ${cpus().length} CPUs, ` +
      `load average ${info.loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after`,
  );
  const header = ['', 'median', 'MiB/s', 'vs etcdctl', 'CPU', 'idle RSS', 'peak RSS', 'peak − idle'];
  const rows: string[][] = [];
  const base = median(samples[0]!.map((s) => s.ms));
  const notes: string[] = [];
  for (const [j, command] of commands.entries()) {
    const taken = samples[j]!;
    const ms = median(taken.map((s) => s.ms));
    const streamed = taken.filter((s): s is ChildResult => 'idleRss' in s);
    const row = [
      command.label,
      `${(ms / 1000).toFixed(2)} s`,
      (info.snapshotSize / MiB / (ms / 1000)).toFixed(1),
      j === 0 ? 'baseline' : `${(base / ms).toFixed(2)}×`,
      taken.every((s) => s.cpuMs !== undefined)
        ? `${(median(taken.map((s) => s.cpuMs ?? 0)) / 1000).toFixed(2)} s`
        : '',
    ];
    if (streamed.length > 0) {
      const idle = median(streamed.map((s) => s.idleRss));
      const peak = Math.max(...streamed.map((s) => s.peakRss));
      const growth = Math.max(...streamed.map((s) => s.peakRss - s.idleRss));
      row.push(`${mib(idle)} MiB`, `${mib(peak)} MiB`, `${mib(growth)} MiB`);
      if (streamed.some((s) => s.peakBy === 'sampled'))
        notes.push(`${command.label.trim()}: peak RSS sampled`);
      const hashKv = streamed.flatMap((s) => (s.hashKvMs !== undefined ? [s.hashKvMs] : []));
      const readBack = streamed.flatMap((s) => (s.readBackMs !== undefined ? [s.readBackMs] : []));
      if (hashKv.length > 0 && readBack.length > 0) {
        notes.push(
          `${command.label.trim()}: besides it, hashKV ${median(hashKv).toFixed(0)} ms, read-back check ${median(readBack).toFixed(0)} ms (medians)`,
        );
      }
    } else {
      const peaks = taken.flatMap((s) => (s.peakRss !== undefined ? [s.peakRss] : []));
      row.push('', peaks.length > 0 ? `${mib(Math.max(...peaks))} MiB` : '', '');
    }
    rows.push(row);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('   ')
      .trimEnd();
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(
    "goals: at least 0.8× etcdctl's throughput; peak RSS within 64 MiB of idle (peak − idle is the largest of the runs;" +
      ' CPU is the snapshotting process alone, etcd and the S3 server not counted)',
  );
  for (const note of notes) console.log(note);
}

/** Runs this file as the streaming process; resolves with the one JSON line it prints. */
function runChild(config: ChildConfig, track: (proc: ChildProcess) => void): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', SELF], {
      cwd: REPO,
      env: { ...process.env, [CHILD_ENV]: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('error', reject);
    proc.once('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${config.mode} → ${config.target} exited ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(last) as ChildResult);
      } catch {
        reject(new Error(`${config.mode} → ${config.target} printed no result: ${stdout}${stderr}`));
      }
    });
  });
}

function runProcess(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  track: (proc: ChildProcess) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    track(proc);
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('error', reject);
    proc.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

/** A 127.x.y.z address on which CLIENT_PORT and the peer port are free. */
async function loopbackAddress(): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ip = `127.${100 + (randomBytes(1)[0]! % 100)}.${randomBytes(1)[0]! % 250}.${1 + (randomBytes(1)[0]! % 250)}`;
    if ((await portFree(ip, CLIENT_PORT)) && (await portFree(ip, CLIENT_PORT + 1))) return ip;
  }
  throw new Error(`found no loopback address with port ${CLIENT_PORT} free`);
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * One etcd member at ip:2379 (plain HTTP, no fsync: its data is thrown away) with a large quota;
 * resolves once it is healthy. Its stop is in `teardowns` from the moment it is spawned.
 */
async function startEtcd(
  binary: string,
  ip: string,
  dataDir: string,
  quotaBytes: number,
  teardowns: (() => void | Promise<void>)[],
): Promise<void> {
  const peerURL = `http://${ip}:${CLIENT_PORT + 1}`;
  const clientURL = `http://${ip}:${CLIENT_PORT}`;
  const logFile = `${dataDir}.log`;
  const fd = openSync(logFile, 'a');
  const proc = (() => {
    try {
      return spawn(
        binary,
        [
          '--name=bench-0',
          `--data-dir=${dataDir}`,
          `--listen-client-urls=${clientURL}`,
          `--advertise-client-urls=${clientURL}`,
          `--listen-peer-urls=${peerURL}`,
          `--initial-advertise-peer-urls=${peerURL}`,
          `--initial-cluster=bench-0=${peerURL}`,
          `--quota-backend-bytes=${quotaBytes}`,
          '--unsafe-no-fsync',
        ],
        { stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
  })();
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  teardowns.push(stop);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(
        `etcd exited at start: ${readFileSync(logFile, 'utf8').split('\n').slice(-10).join('\n')}`,
      );
    }
    const healthy = await fetch(`${clientURL}/health`)
      .then(async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true')
      .catch(() => false);
    if (healthy) return;
    if (Date.now() > deadline) throw new Error(`etcd at ${clientURL} not healthy within 30 s`);
    await sleep(50);
  }
}
