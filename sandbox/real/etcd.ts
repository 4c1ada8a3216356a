/** The single-member etcd a real kube-apiserver stores its objects in, on loopback. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../lib/etcd/local-etcd.js';
import type { EtcdBinaries } from '../binaries.js';
import { startProcess, waitUntilReady, type ControlPlaneProcess } from './process.js';

export interface LoopbackEtcd {
  clientURL: string;
  process: ControlPlaneProcess;
}

/** A TCP port on `host` that nothing listens on right now. */
export const unusedPort = freePort;

/** Starts etcd with its data under `dir` and waits until /health answers. */
export async function startLoopbackEtcd(
  binaries: EtcdBinaries,
  dir: string,
  timeoutMs: number,
): Promise<LoopbackEtcd> {
  const [client, peer] = [await unusedPort(), await unusedPort()];
  const clientURL = `http://127.0.0.1:${client}`;
  const peerURL = `http://127.0.0.1:${peer}`;
  const dataDir = join(dir, 'etcd');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const proc = startProcess(
    `etcd ${binaries.version}`,
    binaries.etcd,
    [
      '--name=default',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientURL}`,
      `--advertise-client-urls=${clientURL}`,
      `--listen-peer-urls=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
      `--initial-cluster=default=${peerURL}`,
      // A test control plane is thrown away: durability buys nothing and fsync costs seconds.
      '--unsafe-no-fsync=true',
    ],
    join(dir, 'etcd.log'),
  );
  try {
    await waitUntilReady(proc, async () => (await fetch(`${clientURL}/health`)).ok, timeoutMs);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { clientURL, process: proc };
}
