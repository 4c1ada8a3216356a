/**
 * A stored snapshot against its manifest, in one pass: the size first, then the SHA-256, then etcd's
 * trailer, each named in one line; chunk boundaries anywhere, the trailer's included.
 */
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { SnapshotIntegrityError } from '../../lib/errors.js';
import { SnapshotFileCheck, readCheckedSnapshot, shortDigest } from '../../lib/backup/check-snapshot.js';

const NAME = 'demo/demo-20261207T010203.456Z.db';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const db = randomBytes(4096 + 100);
const file = Buffer.concat([db, createHash('sha256').update(db).digest()]);
const expected = { size: file.length, sha256: sha(file) };

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

t.test('a snapshot that matches its manifest, however it is cut', async (t) => {
  for (const size of [1, 7, 32, 4096, 4100, 4111, file.length]) {
    t.same(await readCheckedSnapshot(NAME, chunks(file, size), expected), expected, `chunks of ${size}`);
  }
});

t.test('what is wrong, first thing first', async (t) => {
  const flipped = Buffer.from(file);
  flipped[100]! ^= 1;
  const rows: [string, Buffer, { size: number; sha256: string }, string][] = [
    [
      'truncated',
      file.subarray(0, 3000),
      expected,
      `snapshot ${NAME} is 3000 bytes, its manifest says ${file.length}`,
    ],
    [
      'longer',
      Buffer.concat([file, Buffer.from('x')]),
      expected,
      `snapshot ${NAME} is ${file.length + 1} bytes, its manifest says ${file.length}`,
    ],
    [
      'one byte flipped',
      flipped,
      expected,
      `snapshot ${NAME} has sha256 ${shortDigest(sha(flipped))}, its manifest says ${shortDigest(expected.sha256)}`,
    ],
    [
      'a manifest written for a broken snapshot',
      flipped,
      { size: flipped.length, sha256: sha(flipped) },
      `snapshot ${NAME}: snapshot digest does not match the data received`,
    ],
  ];
  for (const [what, bytes, manifest, message] of rows) {
    await t.rejects(
      readCheckedSnapshot(NAME, chunks(bytes, 1000), manifest),
      new SnapshotIntegrityError(message),
      what,
    );
  }
  t.throws(() => new SnapshotFileCheck(NAME, { size: 32, sha256: expected.sha256 }), {
    message: `snapshot ${NAME}: its manifest says 32 bytes, too few for a snapshot`,
  });
  t.equal(shortDigest(expected.sha256).length, 17, '16 hex digits and an ellipsis');
});
