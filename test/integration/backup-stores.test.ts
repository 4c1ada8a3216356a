/**
 * The SnapshotStore adapters against real servers: S3 against versitygw, GCS against
 * fake-gcs-server (both built by hack/storage-binaries.sh), and the volume store. A snapshot-sized
 * stream comes back byte for byte; a missing bucket, wrong credentials, a stopped server and an
 * abort each fail with their typed error; and a put that fails or is aborted half-way leaves no
 * object behind (nor, on S3, a multipart upload).
 */
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import type { StorageLocation } from '../../generated/types.js';
import { createGcsStore } from '../../lib/backup/gcs-store.js';
import { createS3Store, type S3StoreOptions } from '../../lib/backup/s3-store.js';
import type { SnapshotStore } from '../../lib/backup/store.js';
import { openStore } from '../../lib/backup/stores.js';
import { createVolumeStore } from '../../lib/backup/volume-store.js';
import {
  BucketNotFoundError,
  ForbiddenError,
  InterruptedError,
  NotFoundError,
  SnapshotIntegrityError,
  UnavailableError,
  UsageError,
} from '../../lib/errors.js';
import { Secrets, type KubeReader } from '../../lib/kube/index.js';
import { MemoryClient } from '../helpers/fake-kube.js';
import {
  findStorageBinary,
  startGcsServer,
  startS3Server,
  type S3TestServer,
} from '../../sandbox/storage-servers.js';

const SNAPSHOT = randomBytes(20 * 1024 * 1024 + 12_345);
const CHUNK = 64 * 1024;

/** `bytes` as a stream of 64 KiB chunks, the way a snapshot arrives from etcd. */
function streamOf(bytes: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += CHUNK) yield bytes.subarray(at, at + CHUNK);
    })(),
    { objectMode: false },
  );
}

/** A stream that never ends; `pulled()` is how many bytes were read from it. */
function endless(): { stream: Readable; pulled(): number } {
  let pulled = 0;
  const chunk = randomBytes(CHUNK);
  const stream = new Readable({
    read() {
      pulled += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, pulled: () => pulled };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function s3Options(server: S3TestServer, overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return {
    bucket: server.buckets[0]!,
    prefix: 'etcd/test',
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ...overrides,
  };
}

function s3Client(server: S3TestServer): S3Client {
  return new S3Client({
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}

async function multipartUploads(server: S3TestServer): Promise<string[]> {
  const client = s3Client(server);
  try {
    const out = await client.send(new ListMultipartUploadsCommand({ Bucket: server.buckets[0]! }));
    return (out.Uploads ?? []).map((u) => u.Key ?? '');
  } finally {
    client.destroy();
  }
}

/** Every operation of a store, each on `x.db` (put streams the 20 MiB snapshot). */
function everyOperation(store: SnapshotStore): [string, () => Promise<unknown>][] {
  return [
    ['put', () => store.put('x.db', streamOf(SNAPSHOT))],
    ['get', () => store.get('x.db')],
    ['list', () => store.list('')],
    ['delete', () => store.delete('x.db')],
  ];
}

/** What every store must do: a byte-exact round trip, list under a prefix, delete. */
function roundTrip(t: Test, open: () => SnapshotStore) {
  t.test('a 20 MiB snapshot comes back byte for byte; list and delete', async (t) => {
    const store = open();
    const progress: number[] = [];
    const { size } = await store.put('demo/20261206T120000Z-7f3a.db', streamOf(SNAPSHOT), {
      onProgress: (bytes) => progress.push(bytes),
      contentType: 'application/octet-stream',
    });
    t.equal(size, SNAPSHOT.length, 'put reports the size');
    t.ok(progress.length > 0, `progress reported ${progress.length} times`);
    t.ok(
      progress.every((b, i) => b <= SNAPSHOT.length && (i === 0 || b >= progress[i - 1]!)),
      'progress only grows, up to the size',
    );
    await store.put('demo/20261206T120000Z-7f3a.json', streamOf(Buffer.from('{"ok":true}')));
    await store.put('other/x.db', streamOf(Buffer.from('other')));

    const back = await readAll(await store.get('demo/20261206T120000Z-7f3a.db'));
    t.equal(back.length, SNAPSHOT.length, 'same length');
    t.ok(back.equals(SNAPSHOT), 'same bytes');

    const demo = await store.list('demo/');
    t.same(demo.map((o) => o.name).sort(), [
      'demo/20261206T120000Z-7f3a.db',
      'demo/20261206T120000Z-7f3a.json',
    ]);
    const db = demo.find((o) => o.name.endsWith('.db'))!;
    t.equal(db.size, SNAPSHOT.length, 'list gives the size');
    t.ok(Math.abs(db.modified.getTime() - Date.now()) < 5 * 60_000, 'and when it was written');
    t.same((await store.list('')).map((o) => o.name).sort(), [
      'demo/20261206T120000Z-7f3a.db',
      'demo/20261206T120000Z-7f3a.json',
      'other/x.db',
    ]);
    t.same(await store.list('nothing/'), []);

    for (const name of ['demo/20261206T120000Z-7f3a.db', 'demo/20261206T120000Z-7f3a.json', 'other/x.db']) {
      await store.delete(name);
    }
    t.same(await store.list(''), [], 'deleted');
    await store.delete('demo/never-written.db');
    t.pass('deleting an absent object is fine');
    const err = await store.get('demo/20261206T120000Z-7f3a.db').catch((e: unknown) => e);
    t.type(err, NotFoundError, 'a deleted object is not found');
    t.notOk(err instanceof BucketNotFoundError, 'and it is the object, not the bucket');
    t.match((err as Error).message, `${store.description}: no object "demo/20261206T120000Z-7f3a.db"`);
  });
}

/** A missing bucket fails every operation with a BucketNotFoundError. */
function missingBucket(t: Test, open: (bucket?: string) => SnapshotStore) {
  t.test('a missing bucket is a BucketNotFoundError naming it', async (t) => {
    const store = open('no-such-bucket');
    for (const [what, op] of everyOperation(store)) {
      await t.rejects(op(), BucketNotFoundError, what);
      await t.rejects(op(), { message: /no-such-bucket.*bucket "no-such-bucket" does not exist$/ }, what);
    }
  });
}

/**
 * A put whose source fails or that is aborted half-way leaves nothing: no object, and nothing
 * `left()` finds (S3: a multipart upload; volume: a .partial file).
 */
function putFailures(t: Test, open: () => SnapshotStore, left?: () => Promise<string[]>) {
  t.test('a source failing half-way: put rethrows its error and stores nothing', async (t) => {
    const store = open();
    const broken = new SnapshotIntegrityError('the snapshot does not end with its SHA-256');
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= 12 * 1024 * 1024) return this.destroy(broken);
        sent += CHUNK;
        this.push(SNAPSHOT.subarray(0, CHUNK));
      },
    });
    const err = await store.put('demo/broken.db', source).catch((e: unknown) => e);
    t.equal(err, broken, 'the source error itself');
    t.same(await store.list(''), [], 'no object');
    if (left) t.same(await left(), [], 'no multipart upload left');
  });

  t.test('an aborted put is an InterruptedError and leaves nothing', async (t) => {
    const store = open();
    const controller = new AbortController();
    const source = endless();
    const put = store.put('demo/aborted.db', source.stream, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await t.rejects(put, InterruptedError);
    await t.rejects(put, { message: `${store.description}: writing "demo/aborted.db" was interrupted` });
    t.ok(source.stream.destroyed, 'the source stream is destroyed');
    t.same(await store.list(''), [], 'no object');
    if (left) t.same(await left(), [], 'no multipart upload left');

    const early = new AbortController();
    early.abort();
    await t.rejects(
      store.put('demo/early.db', streamOf(Buffer.from('x')), { signal: early.signal }),
      InterruptedError,
    );
    t.same(await store.list(''), [], 'an already aborted signal writes nothing');
  });
}

t.test('S3 (versitygw)', async (t) => {
  const server = await startS3Server(t, { buckets: ['backups'] });
  const open = (bucket?: string) => createS3Store(s3Options(server, bucket ? { bucket } : {}));
  t.equal(open().description, 's3://backups/etcd/test/');

  roundTrip(t, open);
  missingBucket(t, open);
  putFailures(t, open, () => multipartUploads(server));

  t.test('wrong credentials are a ForbiddenError without the secret', async (t) => {
    const secret = 'wrong-secret-d5b1e0c9f8a7';
    for (const credentials of [
      { accessKeyId: server.accessKeyId, secretAccessKey: secret },
      { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: secret },
    ]) {
      const store = createS3Store(s3Options(server, { credentials }));
      for (const [what, op] of everyOperation(store)) {
        const err = await op().catch((e: unknown) => e);
        t.type(err, ForbiddenError, what);
        const { message } = err as Error;
        t.match(message, /^s3:\/\/backups\/etcd\/test\/: access denied /);
        t.notOk(message.includes(secret), 'no secret in the message');
        t.notOk(message.includes(credentials.accessKeyId), 'no access key in the message');
        t.notOk(message.includes('\n'), 'one line');
      }
    }
  });

  t.test(
    'a server stopped half-way through a put leaves no object, and deleting the name aborts the upload it could not',
    async (t) => {
      const store = open();
      const source = endless();
      let stopping: Promise<void> | undefined;
      const put = store.put('demo/cut.db', source.stream, {
        onProgress: () => {
          stopping ??= server.stop();
        },
      });
      await t.rejects(put, UnavailableError);
      await t.rejects(put, {
        message: /^s3:\/\/backups\/etcd\/test\/: the store did not answer writing "demo\/cut.db"/,
      });
      t.ok(stopping, 'the server was stopped after the first part');
      t.ok(source.pulled() > 8 * 1024 * 1024, `the stream kept producing (${source.pulled()} bytes read)`);
      t.ok(source.stream.destroyed, 'the source stream is destroyed');
      await stopping;
      await server.start();
      t.same(await store.list(''), [], 'no object after the restart');
      // The abort could not reach a stopped server: the upload is still pending after the restart.
      t.same(await multipartUploads(server), ['etcd/test/demo/cut.db'], 'the upload the put left');
      await store.delete('demo/cut.db');
      t.same(await multipartUploads(server), [], 'aborted by the delete of its name');
      t.same(await store.list(''), [], 'and still no object');
    },
  );

  t.test('delete aborts the pending uploads of its key only', async (t) => {
    const client = s3Client(server);
    t.teardown(() => client.destroy());
    const Bucket = server.buckets[0]!;
    for (const Key of [
      'etcd/test/demo/a.db',
      'etcd/test/demo/a.db',
      'etcd/test/demo/a.db.json',
      'etcd/test/demo/b.db',
    ]) {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      await client.send(
        new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: SNAPSHOT.subarray(0, CHUNK) }),
      );
    }
    await open().delete('demo/a.db');
    t.same(
      (await multipartUploads(server)).sort(),
      ['etcd/test/demo/a.db.json', 'etcd/test/demo/b.db'],
      'both uploads of demo/a.db aborted; the keys it is a prefix of, and others, untouched',
    );
    await open().delete('demo/a.db.json');
    await open().delete('demo/b.db');
    t.same(await multipartUploads(server), [], 'none left');
  });

  t.test('a stopped server is an UnavailableError', async (t) => {
    await server.stop();
    t.teardown(() => server.start());
    const store = open();
    for (const [what, op] of everyOperation(store)) await t.rejects(op(), UnavailableError, what);
    await t.rejects(store.list('demo/'), {
      message: /^s3:\/\/backups\/etcd\/test\/: the store did not answer listing "demo\/" \(.*ECONNREFUSED/,
    });
  });

  t.test('openStore reads the credentials from their Secret', async (t) => {
    const kube = new MemoryClient();
    await kube.create(Secrets, {
      metadata: { namespace: 'prod', name: 's3-creds' },
      stringData: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    const location: StorageLocation = {
      s3: {
        bucket: 'backups',
        prefix: 'via-secret/',
        region: server.region,
        endpoint: server.endpoint,
        forcePathStyle: true,
        credentialsSecret: { name: 's3-creds' },
      },
    };
    const store = await openStore(location, { kube: kube as unknown as KubeReader, namespace: 'prod' });
    t.equal(store.description, 's3://backups/via-secret/');
    await store.put('a.db', streamOf(Buffer.from('hello')));
    t.equal((await readAll(await store.get('a.db'))).toString(), 'hello');
    await store.delete('a.db');

    await kube.create(Secrets, {
      metadata: { namespace: 'prod', name: 'half' },
      stringData: { accessKeyId: 'x' },
    });
    await t.rejects(
      openStore(
        { s3: { ...location.s3!, credentialsSecret: { name: 'half' } } },
        { kube: kube as unknown as KubeReader, namespace: 'prod' },
      ),
      new UsageError('Secret prod/half has no key secretAccessKey'),
    );
  });
});

t.test('GCS (fake-gcs-server)', async (t) => {
  const server = await startGcsServer(t, { buckets: ['backups'] });
  const open = (bucket?: string) =>
    createGcsStore({ bucket: bucket ?? 'backups', prefix: '/etcd/test/', apiEndpoint: server.endpoint });
  t.equal(open().description, 'gs://backups/etcd/test/');

  roundTrip(t, open);
  missingBucket(t, open);
  putFailures(t, open);

  t.test('openStore: the emulator endpoint, and a key that is not JSON', async (t) => {
    const kube = new MemoryClient();
    const context = { kube: kube as unknown as KubeReader, namespace: 'prod' };
    const store = await openStore({ gcs: { bucket: 'backups', endpoint: server.endpoint } }, context);
    t.equal(store.description, 'gs://backups/');
    await store.put('b.db', streamOf(Buffer.from('hello gcs')));
    t.equal((await readAll(await store.get('b.db'))).toString(), 'hello gcs');
    await store.delete('b.db');

    const secretText = '-----BEGIN PRIVATE KEY----- not json';
    await kube.create(Secrets, {
      metadata: { namespace: 'prod', name: 'gcs-key' },
      stringData: { 'key.json': secretText },
    });
    const err = await openStore(
      { gcs: { bucket: 'backups', credentialsSecret: { name: 'gcs-key', key: 'key.json' } } },
      context,
    ).catch((e: unknown) => e);
    t.type(err, UsageError);
    t.equal(
      (err as Error).message,
      'Secret prod/gcs-key key key.json is not JSON (a service-account key file is expected)',
    );
    t.notOk((err as Error).message.includes('PRIVATE'), 'the content is not quoted');
    await t.rejects(
      openStore({ gcs: { bucket: 'backups', credentialsSecret: { name: 'gcs-key' } } }, context),
      new UsageError('Secret prod/gcs-key key credentials.json is absent'),
    );
  });

  t.test('a stopped server is an UnavailableError', async (t) => {
    await server.stop();
    t.teardown(() => server.start());
    // One retry, not three: the backoff (1 s, 2 s, 4 s) is the SDK's, and slow.
    const store = createGcsStore({
      bucket: 'backups',
      prefix: 'etcd/test',
      apiEndpoint: server.endpoint,
      maxRetries: 1,
    });
    for (const [what, op] of everyOperation(store)) await t.rejects(op(), UnavailableError, what);
    await t.rejects(store.list('demo/'), {
      message: /^gs:\/\/backups\/etcd\/test\/: the store did not answer listing "demo\/"/,
    });
  });
});

t.test('a server that is not built says how to build it', async (t) => {
  t.throws(() => findStorageBinary('versitygw', t.testdir()), {
    name: 'NotFoundError',
    message: /^no versitygw in .*: run hack\/storage-binaries\.sh$/,
  });
});

t.test('volume', async (t) => {
  const root = t.testdir();
  const open = () => createVolumeStore({ root, description: 'volume backups:/etcd' });
  roundTrip(t, open);
  putFailures(t, open, async () =>
    (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.partial')),
  );
});
