/**
 * Real storage servers for the backup tests and `npm run demo -- --with-storage`, built by
 * hack/storage-binaries.sh:
 * versitygw (an S3 gateway over a POSIX directory: real signatures and multipart uploads) and
 * fake-gcs-server (the GCS emulator, with resumable uploads). Each runs over its own temporary
 * directory, can be stopped and started again on the same port and data (for fault tests), and is
 * killed and removed at its owner's teardown (a test's, or the demo's at Ctrl-C).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../lib/etcd/local-etcd.js';
import { NotFoundError } from '../lib/errors.js';
import type { Secret } from '../lib/kube/resources.js';
import { cacheDir } from './binaries.js';
import { startProcess, waitUntilReady, type ControlPlaneProcess } from './real/process.js';

/** What the servers' stops are registered with: a tap test, or the demo's list. */
export interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export type StorageBinaryName = 'versitygw' | 'fake-gcs-server';

/**
 * The path of a server that hack/storage-binaries.sh built, as $CACHE/storage/versions.json names it;
 * a one-line NotFoundError saying how to build it when it is not there.
 */
export function findStorageBinary(name: StorageBinaryName, cache = cacheDir()): string {
  const file = join(cache, 'storage', 'versions.json');
  try {
    const listed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { path?: string } | undefined>;
    const path = listed[name]?.path;
    if (path !== undefined) {
      accessSync(path, constants.X_OK);
      return path;
    }
  } catch {
    // Missing or unreadable: said below.
  }
  throw new NotFoundError(`no ${name} in ${join(cache, 'storage')}: run hack/storage-binaries.sh`);
}

export interface StorageServerOptions {
  /** Buckets created at start; default ['backups']. */
  buckets?: string[];
  /** The address to listen on; default 127.0.0.1. Sandbox pods reach the machine at runtime.hostIP. */
  host?: string;
}

/** A server process that can be stopped and started again on the same port and directory. */
export interface RestartableServer {
  /** The buckets created at start. */
  buckets: string[];
  /** The temporary directory holding the server's data and its log (`server.log`). */
  dir: string;
  /** Stops the process (SIGTERM, then SIGKILL); the data stays for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port over the same data; resolves once it answers. */
  start(): Promise<void>;
}

export interface S3TestServer extends RestartableServer {
  /** http://HOST:PORT, for the SDK's `endpoint` (with forcePathStyle). */
  endpoint: string;
  region: string;
  /** The root account's key, generated for this server. */
  accessKeyId: string;
  secretAccessKey: string;
}

export interface GcsTestServer extends RestartableServer {
  /** http://HOST:PORT, for @google-cloud/storage's `apiEndpoint`. */
  endpoint: string;
}

/** versitygw in posix mode over a temporary directory, with a generated root key. */
export async function startS3Server(t: Teardown, options: StorageServerOptions = {}): Promise<S3TestServer> {
  const binary = findStorageBinary('versitygw');
  const host = options.host ?? '127.0.0.1';
  const region = 'us-east-1';
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64url');
  const server = await startRestartable(t, options, 'versitygw', binary, (port, dir) => {
    const root = join(dir, 'data');
    mkdirSync(root, { recursive: true });
    // The keys go on the command line of a test-only process; versitygw also reads ROOT_ACCESS_KEY.
    return [
      ...['--access', accessKeyId, '--secret', secretAccessKey, '--region', region],
      ...['--port', `${host}:${port}`, '--quiet', 'posix', root],
    ];
  });
  const endpoint = `http://${host}:${server.port}`;
  // Any HTTP answer (an unsigned request gets 403 AccessDenied) means it is serving.
  await server.start(() => fetch(endpoint).then(() => true));
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  try {
    for (const bucket of server.buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return { ...server.handle, endpoint, region, accessKeyId, secretAccessKey };
}

/** fake-gcs-server with its filesystem backend over a temporary directory, over plain HTTP. */
export async function startGcsServer(
  t: Teardown,
  options: StorageServerOptions = {},
): Promise<GcsTestServer> {
  const binary = findStorageBinary('fake-gcs-server');
  const host = options.host ?? '127.0.0.1';
  const server = await startRestartable(t, options, 'fake-gcs-server', binary, (port, dir) => [
    ...['-scheme', 'http', '-host', host, '-port', String(port)],
    ...['-backend', 'filesystem', '-filesystem-root', join(dir, 'data')],
    // Resumable uploads continue at the Location the server hands out: make it this address.
    ...['-public-host', `${host}:${port}`, '-external-url', `http://${host}:${port}`],
    ...['-log-level', 'warn'],
  ]);
  const endpoint = `http://${host}:${server.port}`;
  await server.start(() => fetch(`${endpoint}/storage/v1/b`).then((r) => r.ok));
  for (const name of server.buckets) {
    const response = await fetch(`${endpoint}/storage/v1/b?project=test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    if (!response.ok) throw new Error(`fake-gcs-server: creating bucket ${name}: HTTP ${response.status}`);
  }
  return { ...server.handle, endpoint };
}

/** One server process over a temporary directory and a fixed port, restartable, killed at teardown. */
async function startRestartable(
  t: Teardown,
  options: StorageServerOptions,
  name: StorageBinaryName,
  binary: string,
  args: (port: number, dir: string) => string[],
) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `${name}-test-`));
  const argv = args(port, dir);
  let proc: ControlPlaneProcess | undefined;
  let ready: () => Promise<boolean> = () => Promise.resolve(true);
  const stop = async () => {
    await proc?.stop(5_000);
    proc = undefined;
  };
  const start = async (probe = ready) => {
    ready = probe;
    if (proc) return;
    proc = startProcess(name, binary, argv, join(dir, 'server.log'));
    await waitUntilReady(proc, ready, 30_000, 50);
  };
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const buckets = options.buckets ?? ['backups'];
  return {
    port,
    buckets,
    start,
    handle: { buckets, dir, stop, start: () => start() } satisfies RestartableServer,
  };
}

/** A Secret of S3 credentials for `server`, as an EtcdBackup's credentialsSecret names it; `secretAccessKey` to make a wrong one. */
export function s3CredentialsSecret(
  server: S3TestServer,
  namespace: string,
  name: string,
  secretAccessKey = server.secretAccessKey,
): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    stringData: { accessKeyId: server.accessKeyId, secretAccessKey },
  };
}
