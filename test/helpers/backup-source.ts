/**
 * A source of backups for restore tests: a keyspace with some history (values of mixed sizes, some
 * overwritten, some deleted), and a backup of it written the way lib/backup writes one — the
 * snapshot streamed once into a store, then its manifest with the key count and hashKV beside it.
 */
import { Readable } from 'node:stream';
import { Etcd3 } from 'etcd3';
import { createEtcdAdmin, type EtcdAdmin } from '../../lib/etcd/index.js';
import { streamSnapshot } from '../../lib/etcd/snapshot.js';
import {
  MANIFEST_FORMAT,
  encodeManifest,
  manifestKey,
  snapshotKey,
  type BackupManifest,
} from '../../lib/backup/manifest.js';
import type { SnapshotStore } from '../../lib/backup/store.js';
import { VERSION } from '../../lib/version.js';
import { startEtcd, type TestEtcd } from './etcd.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A single etcd to take backups of, with a client for its keys and an EtcdAdmin; all closed at teardown. */
export async function startSourceEtcd(
  t: Teardown,
  version: string,
): Promise<{ source: TestEtcd; kv: Etcd3; admin: EtcdAdmin }> {
  const source = await startEtcd(t, version);
  const kv = new Etcd3({ hosts: source.clientURL });
  const admin = createEtcdAdmin({ endpoints: [source.clientURL], timeoutMs: 30_000 });
  t.teardown(() => {
    kv.close();
    admin.close();
  });
  return { source, kv, admin };
}

/** Writes `count` keys under `/data/`, overwrites every 7th, deletes every 11th; returns what is left. */
export async function fillKeyspace(kv: Etcd3, count = 2000): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  const key = (i: number) => `/data/${String(i).padStart(5, '0')}`;
  const value = (i: number, round: number) =>
    `${round}:${i}:${'x'.repeat([0, 10, 100, 1000, 8000][i % 5] ?? 0)}`;
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) => kv.put(key(i + j)).value(value(i + j, 0))),
    );
  }
  for (let i = 0; i < count; i++) expected.set(key(i), value(i, 0));
  for (let i = 0; i < count; i += 7) {
    await kv.put(key(i)).value(value(i, 1));
    expected.set(key(i), value(i, 1));
  }
  for (let i = 0; i < count; i += 11) {
    await kv.delete().key(key(i));
    expected.delete(key(i));
  }
  return expected;
}

export interface WrittenBackup {
  manifest: BackupManifest;
  snapshot: string;
}

/** Streams a snapshot of `endpoint` into `store` under `<cluster>/<cluster>-<stamp>.db`, then its manifest. */
export async function writeBackup(
  store: SnapshotStore,
  admin: EtcdAdmin,
  endpoint: string,
  source: { cluster: string; namespace: string; etcdVersion: string },
): Promise<WrittenBackup> {
  const status = await admin.status(endpoint);
  const stream = await streamSnapshot(admin, endpoint);
  const name = snapshotKey(source.cluster, new Date());
  await store.put(name, Readable.from(stream.bytes));
  const { size, sha256 } = stream.digest();
  const keys = await admin.countKeys(endpoint, stream.revision);
  const { hash } = await admin.hashKV(endpoint, stream.revision);
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    snapshot: name,
    cluster: source.cluster,
    namespace: source.namespace,
    clusterID: status.clusterId,
    revision: stream.revision,
    etcdVersion: source.etcdVersion,
    member: status.memberId,
    size,
    sha256,
    time: new Date().toISOString(),
    operatorVersion: VERSION,
    backup: 'test',
    keys,
    hashKV: hash,
  };
  await store.put(manifestKey(name), Readable.from([encodeManifest(manifest)]));
  return { manifest, snapshot: name };
}
