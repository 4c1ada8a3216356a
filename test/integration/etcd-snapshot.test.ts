/**
 * The snapshot pipeline against real TLS clusters of etcd 3.5 and 3.6: what saveSnapshot writes
 * passes `etcdutl snapshot status`, restores into a fresh etcd holding the same keys, and an
 * interrupted save leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { InterruptedError } from '../../lib/errors.js';
import { inspectSnapshot, saveSnapshot, type SnapshotProgress } from '../../lib/etcd/index.js';
import { startEtcdCluster } from '../helpers/etcd-cluster.js';

for (const version of ['3.5', '3.6']) {
  t.test(`etcd ${version}`, async (t) => {
    const cluster = await startEtcdCluster(t, { version, size: 3, tls: true });
    const admin = cluster.admin();
    const kv = cluster.kv();
    const keys: Record<string, string> = {};
    for (let i = 0; i < 200; i++) keys[`/snap/${String(i).padStart(3, '0')}`] = `value-${i}-${'z'.repeat(i)}`;
    for (const [k, v] of Object.entries(keys)) await kv.put(k).value(v);
    const follower = (await Promise.all(admin.endpoints.map((e) => admin.status(e)))).find(
      (s) => !s.isLeader,
    )!;

    t.test('a saved snapshot passes etcdutl and restores the same keys', async (t) => {
      const dir = t.testdir();
      const file = join(dir, 'etcd.db');
      const progress: SnapshotProgress[] = [];
      const saved = await saveSnapshot(admin, follower.endpoint, file, {
        onProgress: (p) => progress.push(p),
      });

      t.same(readdirSync(dir), ['etcd.db'], 'no .part left');
      const bytes = readFileSync(file);
      t.equal(saved.size, bytes.length);
      t.equal(saved.sha256, createHash('sha256').update(bytes).digest('hex'));
      t.ok(saved.revision >= 200, `revision ${saved.revision}`);
      t.ok(progress.length > 1);
      t.same(progress.at(-1), { bytes: saved.size, totalBytes: saved.size }, 'progress ends at the total');
      t.ok(
        progress.every((p, i) => i === 0 || p.bytes > progress[i - 1]!.bytes),
        'progress only grows',
      );
      t.same(await inspectSnapshot(file), { size: saved.size, sha256: saved.sha256, hasDigest: true });

      const status = JSON.parse(
        execFileSync(cluster.binaries.etcdutl!, ['snapshot', 'status', file, '-w', 'json'], {
          encoding: 'utf8',
        }),
      ) as { revision: number; totalKey: number };
      t.ok(status.revision >= saved.revision, `etcdutl: revision ${status.revision}`);
      t.ok(status.totalKey >= 200, `etcdutl: ${status.totalKey} keys`);

      const restored = await startEtcdCluster(t, { version, size: 1, restoreFrom: file });
      t.same(
        await restored.kv().getAll().prefix('/snap/').strings(),
        keys,
        'a fresh etcd holds the same keys',
      );
    });

    t.test('aborting mid-snapshot leaves no file and no .part', async (t) => {
      // Enough data that the stream has many chunks left when the first arrives.
      const big = 'b'.repeat(64 * 1024);
      for (let i = 0; i < 64; i++) await kv.put(`/big/${i}`).value(big);
      const dir = t.testdir();
      const controller = new AbortController();
      let at: SnapshotProgress | undefined;
      await t.rejects(
        saveSnapshot(admin, follower.endpoint, join(dir, 'etcd.db'), {
          signal: controller.signal,
          onProgress: (p) => {
            at ??= p;
            controller.abort();
          },
        }),
        InterruptedError,
      );
      t.ok(at && at.bytes < at.totalBytes, `aborted at ${at?.bytes} of ${at?.totalBytes} bytes`);
      t.same(readdirSync(dir), [], 'nothing left behind');
      t.equal((await admin.health(follower.endpoint)).healthy, true, 'the member is unaffected');
    });
  });
}
