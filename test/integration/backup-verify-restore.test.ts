/**
 * verifyByRestore against real etcd 3.5 and 3.6: a snapshot of a keyspace with history, restored by
 * the etcdutl of its minor into a scratch etcd, matches the key count and hashKV its manifest
 * recorded; a wrong hashKV or key count, or a corrupted byte, is refused with a message naming the
 * mismatch; an abort stops it; and the scratch directory and etcd are gone afterwards every time.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { InterruptedError, NotFoundError, SnapshotIntegrityError } from '../../lib/errors.js';
import { saveSnapshot } from '../../lib/etcd/index.js';
import { verifyByRestore } from '../../lib/backup/verify-restore.js';
import { MANIFEST_FORMAT, type BackupManifest } from '../../lib/backup/manifest.js';
import { linkVersionedEtcdBinaries } from '../../sandbox/binaries.js';
import { fillKeyspace, startSourceEtcd } from '../helpers/backup-source.js';

for (const version of ['3.5', '3.6']) {
  t.test(`etcd ${version}`, async (t) => {
    const { source, kv, admin } = await startSourceEtcd(t, version);
    const expected = await fillKeyspace(kv, 3000);
    const dir = t.testdir();
    const binDirs = [linkVersionedEtcdBinaries(join(dir, 'bin'))];
    const scratchDir = join(dir, 'scratch');
    const file = join(dir, 'snapshot.db');
    const saved = await saveSnapshot(admin, source.clientURL, file);
    const keys = await admin.countKeys(source.clientURL, saved.revision);
    const { hash } = await admin.hashKV(source.clientURL, saved.revision);
    t.equal(keys, expected.size, `${keys} keys at revision ${saved.revision}`);
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      snapshot: 'src/src-20261207T010203Z.db',
      cluster: 'src',
      namespace: 'default',
      clusterID: (await admin.status(source.clientURL)).clusterId,
      revision: saved.revision,
      etcdVersion: source.binaries.version,
      member: 'test',
      size: saved.size,
      sha256: saved.sha256,
      time: new Date().toISOString(),
      operatorVersion: '0.0.0',
      backup: 'test',
      keys,
      hashKV: hash,
    };
    const options = { etcdVersion: source.binaries.version, binDirs, scratchDir };
    mkdirSync(scratchDir);
    const scratchEmpty = (t: Test, when: string) => {
      t.same(readdirSync(scratchDir), [], `no scratch directory is left ${when}`);
      const running = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      t.notOk(running.includes(scratchDir), `no scratch etcd runs ${when}`);
    };

    t.test('a good snapshot verifies, from a file and from a stream', async (t) => {
      const started = Date.now();
      t.same(await verifyByRestore(file, manifest, options), {
        keys,
        hashKV: hash,
        revision: saved.revision,
      });
      t.comment(`verified from a file in ${Date.now() - started} ms`);
      scratchEmpty(t, 'after a pass');
      t.same(await verifyByRestore(createReadStream(file), manifest, options), {
        keys,
        hashKV: hash,
        revision: saved.revision,
      });
      scratchEmpty(t, 'after a pass from a stream');
    });

    t.test('a wrong hashKV or key count in the manifest is named', async (t) => {
      await t.rejects(
        verifyByRestore(file, { ...manifest, hashKV: hash + 1 }, options),
        new SnapshotIntegrityError(
          `restored snapshot ${manifest.snapshot} has hashKV ${hash} at revision ${saved.revision}, its manifest says ${hash + 1}`,
        ),
      );
      scratchEmpty(t, 'after a hashKV mismatch');
      await t.rejects(
        verifyByRestore(file, { ...manifest, keys: keys - 1 }, options),
        new SnapshotIntegrityError(
          `restored snapshot ${manifest.snapshot} holds ${keys} keys at revision ${saved.revision}, its manifest says ${keys - 1}`,
        ),
      );
      scratchEmpty(t, 'after a key count mismatch');
    });

    t.test('a corrupted byte is refused before any restore', async (t) => {
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      const bad = join(dir, 'bad.db');
      writeFileSync(bad, bytes);
      await t.rejects(verifyByRestore(bad, manifest, options), {
        name: 'SnapshotIntegrityError',
        message: new RegExp(
          `^snapshot ${manifest.snapshot} has sha256 [0-9a-f]{16}…, its manifest says ${manifest.sha256.slice(0, 16)}…$`,
        ),
      });
      scratchEmpty(t, 'after a corrupted snapshot');
    });

    t.test('an abort stops the scratch etcd and cleans up', async (t) => {
      // Aborted once the scratch etcd is starting (its log file exists): the worst moment to stop.
      const controller = new AbortController();
      const watch = setInterval(() => {
        const started = readdirSync(scratchDir).some((d) => existsSync(join(scratchDir, d, 'etcd.log')));
        if (started) controller.abort();
      }, 2);
      t.teardown(() => clearInterval(watch));
      await t.rejects(
        verifyByRestore(file, manifest, { ...options, signal: controller.signal }),
        InterruptedError,
      );
      scratchEmpty(t, 'after an abort');
    });

    t.test('a minor without tools is named before anything is made', async (t) => {
      await t.rejects(verifyByRestore(file, manifest, { ...options, etcdVersion: '3.9.0' }), NotFoundError);
      scratchEmpty(t, 'when no tool was found');
    });
  });
}
