/**
 * What `kubectl etcd snapshot status` reads from a snapshot (plugin/snapshot-db.ts) against etcd's
 * own tools, field for field, on snapshots that etcdctl 3.4, 3.5 and 3.6 saved from their own etcd:
 * an empty store, and one with puts, overwrites and deletes. Every tool's hash, revision and size
 * are ours; TOTAL KEYS is ours as etcdutl 3.6 counts it (live keys) and our bucketKeys as etcdutl
 * 3.5 and etcdctl 3.4 count it (every key of every bucket); VERSION is etcdutl 3.6's.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { inspectSnapshot } from '../../lib/etcd/index.js';
import { readSnapshotContent } from '../../plugin/snapshot-db.js';
import { findEtcd } from '../../sandbox/binaries.js';
import { startEtcd } from '../helpers/etcd.js';

const run = promisify(execFile);
const VERSIONS = ['3.4', '3.5', '3.6'];

interface ToolStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
  version?: string;
}

/** `snapshot status -w json` by etcdctl 3.4, or etcdutl 3.5 and 3.6. */
async function toolStatus(version: string, file: string): Promise<ToolStatus> {
  const binaries = findEtcd(version);
  const tool = version === '3.4' ? binaries.etcdctl : binaries.etcdutl!;
  const { stdout } = await run(tool, ['snapshot', 'status', file, '-w', 'json'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  return JSON.parse(stdout) as ToolStatus;
}

for (const version of VERSIONS) {
  await t.test(`snapshots saved by etcdctl ${version}`, async (t) => {
    const etcd = await startEtcd(t, version);
    const dir = t.testdir();
    const etcdctl = (...args: string[]) =>
      run(etcd.binaries.etcdctl, [`--endpoints=${etcd.clientURL}`, ...args], {
        env: { ...process.env, ETCDCTL_API: '3' },
      });
    const save = async (name: string) => {
      const file = join(dir, name);
      await etcdctl('snapshot', 'save', file);
      return file;
    };
    const empty = await save('empty.db');
    for (let i = 0; i < 20; i++) await etcdctl('put', `key-${i}`, `value-${i}`);
    for (let i = 0; i < 5; i++) await etcdctl('put', `key-${i}`, `again-${i}`);
    for (let i = 5; i < 8; i++) await etcdctl('del', `key-${i}`);
    const written = await save('written.db');

    for (const [file, liveKeys] of [
      [empty, 0],
      [written, 17],
    ] as const) {
      const name = file.slice(dir.length + 1);
      const { size, hasDigest } = await inspectSnapshot(file);
      t.ok(hasDigest, `${name}: etcdctl ${version} saved it with its digest`);
      const ours = await readSnapshotContent(file, size - 32);
      t.equal(ours.totalKeys, liveKeys, `${name}: ${liveKeys} live keys`);
      const [v34, v35, v36] = await Promise.all(VERSIONS.map((v) => toolStatus(v, file)));
      for (const [tool, status] of [
        ['etcdctl 3.4', v34],
        ['etcdutl 3.5', v35],
        ['etcdutl 3.6', v36],
      ] as const) {
        t.same(
          { hash: ours.hash, revision: ours.revision, totalSize: ours.totalSize },
          { hash: status!.hash, revision: status!.revision, totalSize: status!.totalSize },
          `${name}: hash, revision and size as ${tool} prints them`,
        );
      }
      t.equal(ours.totalKeys, v36!.totalKey, `${name}: TOTAL KEYS as etcdutl 3.6 counts them`);
      t.equal(ours.bucketKeys, v35!.totalKey, `${name}: bucket keys as etcdutl 3.5 counts TOTAL KEYS`);
      t.equal(ours.bucketKeys, v34!.totalKey, `${name}: and as etcdctl 3.4 does`);
      t.equal(ours.storageVersion ?? '', v36!.version, `${name}: VERSION as etcdutl 3.6 reads it`);
    }
  });
}
