/**
 * One etcd member on loopback, as a child process: plain HTTP on 127.0.0.1, free ports, its data
 * in a directory the caller owns. For scratch work (a test restore of a snapshot) and for tests.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { minorVersion } from '../api/semver.js';
import { InterruptedError, UnavailableError } from '../errors.js';

const HOST = '127.0.0.1';

export interface LocalEtcdOptions {
  /** The etcd executable. */
  etcd: string;
  /** Its version (`3.5.35` or `3.5`): decides which flags it understands. */
  version: string;
  dataDir: string;
  /** The member name; `default` when absent. A restored data dir must be started with its own. */
  name?: string;
  /** The peer port; a free one when absent. A restored data dir records its peer URL. */
  peerPort?: number;
  /** Skip fsync (etcd 3.5 and later): for data that is thrown away. Default true. */
  unsafeNoFsync?: boolean;
  /** Where etcd's output goes (appended); discarded when absent. */
  logFile?: string;
  /** How long etcd may take to answer /health; default 30 s. */
  startTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface LocalEtcd {
  name: string;
  clientURL: string;
  peerURL: string;
  dataDir: string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** A TCP port on `host` that nothing listens on right now. */
export async function freePort(host = HOST): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts the member and resolves once its /health answers; a failed start leaves no process. */
export async function startLocalEtcd(options: LocalEtcdOptions): Promise<LocalEtcd> {
  const name = options.name ?? 'default';
  const clientURL = `http://${HOST}:${await freePort()}`;
  const peerURL = `http://${HOST}:${options.peerPort ?? (await freePort())}`;
  const minor = Number(minorVersion(options.version)?.split('.')[1] ?? 5);
  const args = [
    `--name=${name}`,
    `--data-dir=${options.dataDir}`,
    `--listen-client-urls=${clientURL}`,
    `--advertise-client-urls=${clientURL}`,
    `--listen-peer-urls=${peerURL}`,
    `--initial-advertise-peer-urls=${peerURL}`,
    `--initial-cluster=${name}=${peerURL}`,
    ...((options.unsafeNoFsync ?? true) && minor >= 5 ? ['--unsafe-no-fsync'] : []),
    ...(minor === 4 ? ['--logger=zap'] : []),
  ];
  const fd = options.logFile ? openSync(options.logFile, 'a') : undefined;
  const child = (() => {
    try {
      return spawn(options.etcd, args, { stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'] });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  })();
  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus ??= String(code ?? signal);
      resolve();
    });
    child.once('error', (err) => {
      exitStatus ??= err.message;
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 10_000) =>
    (stopping ??= (async () => {
      if (exitStatus !== undefined) return;
      child.kill('SIGTERM');
      const ended = await Promise.race([exited.then(() => true), sleep(graceMs, false)]);
      if (!ended) child.kill('SIGKILL');
      await exited;
    })());

  const tail = () => {
    if (!options.logFile) return '';
    const lines = readFileSync(options.logFile, 'utf8').trimEnd().split('\n');
    return `: ${lines.slice(-3).join(' | ')}`;
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (options.signal?.aborted) throw new InterruptedError(`etcd at ${clientURL}: start interrupted`);
      if (exitStatus !== undefined) {
        throw new UnavailableError(
          `etcd at ${clientURL} exited (${exitStatus}) before it was healthy${tail()}`,
        );
      }
      const healthy = await fetch(`${clientURL}/health`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (healthy) return { name, clientURL, peerURL, dataDir: options.dataDir, stop };
      if (Date.now() > deadline)
        throw new UnavailableError(`etcd at ${clientURL} did not become healthy${tail()}`);
      await sleep(100);
    }
  } catch (err) {
    await stop(1_000);
    throw err;
  }
}
