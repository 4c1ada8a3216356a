/** A single real etcd on loopback for tests, stopped and removed when the test ends. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalEtcd } from '../../lib/etcd/local-etcd.js';
import { findEtcd, type EtcdBinaries } from '../../sandbox/binaries.js';

export { freePort } from '../../lib/etcd/local-etcd.js';

export interface TestEtcd {
  binaries: EtcdBinaries;
  clientURL: string;
  dataDir: string;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export async function startEtcd(t: Teardown, version = '3.5'): Promise<TestEtcd> {
  const binaries = findEtcd(version);
  const dataDir = mkdtempSync(join(tmpdir(), 'etcd-test-'));
  const etcd = await startLocalEtcd({
    etcd: binaries.etcd,
    version: binaries.version,
    dataDir,
    name: 'test',
    startTimeoutMs: 10_000,
  }).catch((err: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  t.teardown(async () => {
    await etcd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { binaries, clientURL: etcd.clientURL, dataDir };
}
