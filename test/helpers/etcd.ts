/** A single real etcd on loopback for tests, stopped and removed when the test ends. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findEtcd, type EtcdBinaries } from '../../sandbox/binaries.js';

export interface TestEtcd {
  binaries: EtcdBinaries;
  clientURL: string;
  dataDir: string;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export async function startEtcd(t: Teardown, version = '3.5'): Promise<TestEtcd> {
  const binaries = findEtcd(version);
  const dataDir = mkdtempSync(join(tmpdir(), 'etcd-test-'));
  const [client, peer] = [await freePort(), await freePort()];
  const clientURL = `http://127.0.0.1:${client}`;
  const child = spawn(
    binaries.etcd,
    [
      '--name=test',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientURL}`,
      `--advertise-client-urls=${clientURL}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=test=http://127.0.0.1:${peer}`,
      ...(binaries.version.startsWith('3.4') ? [] : ['--unsafe-no-fsync']),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100; i++) {
    const healthy = await fetch(`${clientURL}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) return { binaries, clientURL, dataDir };
    if (child.exitCode !== null)
      throw new Error(`etcd ${binaries.version} exited with code ${child.exitCode}`);
    await sleep(100);
  }
  throw new Error(`etcd ${binaries.version} did not become healthy at ${clientURL}`);
}
