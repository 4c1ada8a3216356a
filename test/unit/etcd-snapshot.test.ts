/** The snapshot pipeline's checks, fed by a fake EtcdAdmin that streams what each case needs. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { InterruptedError, SnapshotIntegrityError } from '../../lib/errors.js';
import {
  inspectSnapshot,
  saveSnapshot,
  streamSnapshot,
  type EndpointStatus,
  type EtcdAdmin,
  type SnapshotChunk,
} from '../../lib/etcd/index.js';

const DB = Buffer.alloc(3 * 4096 + 4096, 7); // a bolt file is whole pages
const DIGEST = createHash('sha256').update(DB).digest();

/** Messages as etcd sends them: the database in chunks with remaining bytes, then the digest. */
function messages(db: Buffer, digest: Buffer, chunk = 4096): SnapshotChunk[] {
  const out: SnapshotChunk[] = [];
  for (let sent = 0; sent < db.length; sent += chunk) {
    const blob = db.subarray(sent, sent + chunk);
    out.push({ blob, remainingBytes: db.length - sent - blob.length });
  }
  out.push({ blob: digest, remainingBytes: 0 });
  return out;
}

function fakeAdmin(stream: (signal?: AbortSignal) => AsyncIterable<SnapshotChunk>): EtcdAdmin {
  return {
    status: async () => ({ revision: 42 }) as EndpointStatus,
    snapshot: (_endpoint: string, options?: { signal?: AbortSignal }) => stream(options?.signal),
  } as unknown as EtcdAdmin;
}

async function* from(chunks: SnapshotChunk[]): AsyncIterable<SnapshotChunk> {
  for (const c of chunks) yield c;
}

t.test('a good stream is written whole, with its digest', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 's.db');
  const saved = await saveSnapshot(
    fakeAdmin(() => from(messages(DB, DIGEST))),
    'e',
    file,
  );
  const expected = Buffer.concat([DB, DIGEST]);
  t.same(readFileSync(file), expected);
  t.same(saved, {
    revision: 42,
    size: expected.length,
    sha256: createHash('sha256').update(expected).digest('hex'),
  });
  t.same(readdirSync(dir), ['s.db']);
});

t.test(
  'etcd’s 32 KiB messages are handed on in blocks of 1 MiB, the last one after the trailer check',
  async (t) => {
    const db = Buffer.alloc(2.5 * 1024 * 1024 + 4096);
    for (let i = 0; i < db.length; i++) db[i] = i % 251;
    const digest = createHash('sha256').update(db).digest();
    const stream = await streamSnapshot(
      fakeAdmin(() => from(messages(db, digest, 32 * 1024))),
      'e',
    );
    const sizes: number[] = [];
    const blocks: Buffer[] = [];
    for await (const block of stream.bytes) {
      sizes.push(block.length);
      blocks.push(block);
    }
    t.same(sizes, [1 << 20, 1 << 20, db.length + 32 - 2 * (1 << 20)], 'two full blocks, then the rest');
    t.same(Buffer.concat(blocks), Buffer.concat([db, digest]), 'the bytes, in order');
    const wrong = Buffer.from(digest);
    wrong[0] = wrong[0]! ^ 1;
    const bad = await streamSnapshot(
      fakeAdmin(() => from(messages(db, wrong, 32 * 1024))),
      'e',
    );
    const handed: number[] = [];
    await t.rejects(
      (async () => {
        for await (const block of bad.bytes) handed.push(block.length);
      })(),
      SnapshotIntegrityError,
    );
    t.same(handed, [1 << 20, 1 << 20], 'a bad trailer: the last block, which holds it, is never handed on');
  },
);

t.test('a stream that fails its checks leaves nothing behind', async (t) => {
  const wrong = Buffer.from(DIGEST);
  wrong[0] = wrong[0]! ^ 1;
  const cases: [string, SnapshotChunk[], RegExp][] = [
    ['wrong digest', messages(DB, wrong), /digest does not match/],
    [
      'no digest',
      messages(DB, DIGEST).slice(0, -1),
      /ended early: 16384 of 16384 database bytes, 0 of 32 digest/,
    ],
    [
      'a chunk missing',
      [...messages(DB, DIGEST).slice(0, 1), ...messages(DB, DIGEST).slice(2)],
      /inconsistent/,
    ],
    // the stream then looks like a smaller database: only the digest can tell
    ['the first chunk missing', messages(DB, DIGEST).slice(1), /digest does not match/],
    ['nothing at all', [], /ended early: 0 of \?/],
  ];
  for (const [what, chunks, message] of cases) {
    const dir = t.testdir();
    const saving = saveSnapshot(
      fakeAdmin(() => from(chunks)),
      'e',
      join(dir, 's.db'),
    );
    await t.rejects(saving, { name: 'SnapshotIntegrityError', message }, what);
    t.same(readdirSync(dir), [], `${what}: no file, no .part`);
  }
});

t.test('a member that goes quiet is given up on', async (t) => {
  const dir = t.testdir();
  const stalled = (signal?: AbortSignal) =>
    (async function* () {
      yield messages(DB, DIGEST)[0]!;
      // Nothing more until the pipeline aborts the stream, as gRPC's cancel would end it.
      await new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('cancelled'))),
      );
    })();
  await t.rejects(saveSnapshot(fakeAdmin(stalled), 'e', join(dir, 's.db'), { idleTimeoutMs: 20 }), {
    name: 'UnavailableError',
    message: /no data for 20 ms/,
  });
  t.same(readdirSync(dir), []);
});

t.test('an already aborted signal writes nothing', async (t) => {
  const dir = t.testdir();
  let streamed = false;
  const admin = fakeAdmin(() => {
    streamed = true;
    return from([]);
  });
  await t.rejects(
    saveSnapshot(admin, 'e', join(dir, 's.db'), { signal: AbortSignal.abort() }),
    InterruptedError,
  );
  t.equal(streamed, false);
  t.same(readdirSync(dir), []);
});

t.test('inspectSnapshot checks the digest as etcdutl would', async (t) => {
  const dir = t.testdir();
  const good = join(dir, 'good.db');
  writeFileSync(good, Buffer.concat([DB, DIGEST]));
  const whole = createHash('sha256')
    .update(Buffer.concat([DB, DIGEST]))
    .digest('hex');
  t.same(await inspectSnapshot(good), { size: DB.length + 32, sha256: whole, hasDigest: true });

  const bare = join(dir, 'bare.db');
  writeFileSync(bare, DB);
  t.same(await inspectSnapshot(bare), {
    size: DB.length,
    sha256: createHash('sha256').update(DB).digest('hex'),
    hasDigest: false,
  });

  const corrupt = join(dir, 'corrupt.db');
  const bytes = Buffer.concat([DB, DIGEST]);
  bytes[100] = 0;
  writeFileSync(corrupt, bytes);
  await t.rejects(inspectSnapshot(corrupt), SnapshotIntegrityError);
});
