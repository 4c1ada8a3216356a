/**
 * The snapshot pipeline behind `kubectl etcd snapshot save` and backups: stream one member's
 * database to FILE.part, check etcd's SHA-256 trailer, fsync, rename to FILE. Interrupted or
 * failed, it leaves nothing behind.
 *
 * The stream (etcd server/etcdserver/api/v3rpc/maintenance.go) sends the bolt database in chunks,
 * each with the bytes still to come, then one last message holding the SHA-256 of the database.
 * A snapshot file is those bytes in order: the database, then the 32-byte digest. etcdutl treats a
 * file whose size is 32 more than a multiple of 512 as carrying that digest and checks it on restore.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InterruptedError, SnapshotIntegrityError, UnavailableError } from '../errors.js';
import type { EtcdAdmin } from './admin.js';

const SHA256_SIZE = 32;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export interface SnapshotProgress {
  /** Bytes written so far, digest included. */
  bytes: number;
  /** The file's final size: the database and its 32-byte digest. */
  totalBytes: number;
}

export interface SaveSnapshotOptions {
  signal?: AbortSignal;
  onProgress?: (progress: SnapshotProgress) => void;
  /** Give up when the member sends nothing for this long; default 30 s. */
  idleTimeoutMs?: number;
}

export interface SavedSnapshot {
  /** The store's revision just before the snapshot was taken: the snapshot holds at least this. */
  revision: number;
  /** Bytes in the file. */
  size: number;
  /** SHA-256 (hex) of the whole file, as `sha256sum` prints it. */
  sha256: string;
}

export interface SnapshotFileInfo {
  size: number;
  /** SHA-256 (hex) of the whole file. */
  sha256: string;
  /** False for a bare database file (copied from a data dir): etcdutl restores it only with --skip-hash-check. */
  hasDigest: boolean;
}

/** Saves a snapshot of the member at `endpoint` to `file`. */
export async function saveSnapshot(
  admin: EtcdAdmin,
  endpoint: string,
  file: string,
  options: SaveSnapshotOptions = {},
): Promise<SavedSnapshot> {
  const interrupted = () => new InterruptedError(`snapshot of ${endpoint} interrupted; nothing was written`);
  if (options.signal?.aborted) throw interrupted();
  const { revision } = await admin.status(endpoint);
  const part = `${file}.part`;
  const idle = new IdleTimer(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
  const handle = await open(part, 'w');
  try {
    const received = await receive(admin.snapshot(endpoint, { signal }), idle, handle, options.onProgress);
    await handle.sync();
    await handle.close();
    await rename(part, file);
    await syncDirectory(dirname(file));
    return { revision, size: received.size, sha256: received.sha256 };
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(part, { force: true });
    if (options.signal?.aborted) throw interrupted();
    if (idle.signal.aborted) {
      throw new UnavailableError(`snapshot of ${endpoint}: no data for ${idle.timeoutMs} ms`, { cause: err });
    }
    throw err;
  } finally {
    idle.stop();
  }
}

/**
 * Consumes a snapshot stream: writes every byte, checks the digest against the database bytes.
 * Throws SnapshotIntegrityError when the stream ends short or the digest does not match.
 */
async function receive(
  chunks: AsyncIterable<{ blob: Buffer; remainingBytes: number }>,
  idle: IdleTimer,
  file: FileHandle,
  onProgress: ((progress: SnapshotProgress) => void) | undefined,
): Promise<{ size: number; sha256: string }> {
  const dbHash = createHash('sha256');
  const fileHash = createHash('sha256');
  let dbSize: number | undefined;
  let dbReceived = 0;
  let written = 0;
  const digest: Buffer[] = [];
  for await (const { blob, remainingBytes } of chunks) {
    idle.touch();
    dbSize ??= remainingBytes + blob.length;
    if (dbReceived < dbSize) {
      dbHash.update(blob);
      dbReceived += blob.length;
      if (remainingBytes !== dbSize - dbReceived) {
        throw new SnapshotIntegrityError(
          `snapshot stream is inconsistent: ${dbReceived} of ${dbSize} bytes received but ${remainingBytes} announced to come`,
        );
      }
    } else {
      digest.push(blob);
    }
    fileHash.update(blob);
    await writeAll(file, blob);
    written += blob.length;
    onProgress?.({ bytes: written, totalBytes: dbSize + SHA256_SIZE });
  }
  const trailer = Buffer.concat(digest);
  if (dbSize === undefined || dbReceived !== dbSize || trailer.length !== SHA256_SIZE) {
    throw new SnapshotIntegrityError(
      `snapshot stream ended early: ${dbReceived} of ${dbSize ?? '?'} database bytes, ${trailer.length} of ${SHA256_SIZE} digest bytes`,
    );
  }
  if (!trailer.equals(dbHash.digest())) {
    throw new SnapshotIntegrityError('snapshot digest does not match the data received');
  }
  return { size: dbSize + SHA256_SIZE, sha256: fileHash.digest('hex') };
}

/**
 * Checks a snapshot file the way etcdutl does before a restore: when it carries a digest, the
 * digest must match. Throws SnapshotIntegrityError when it does not.
 */
export async function inspectSnapshot(file: string): Promise<SnapshotFileInfo> {
  const { size } = await stat(file);
  const hasDigest = size % 512 === SHA256_SIZE;
  const dbEnd = hasDigest ? size - SHA256_SIZE : size;
  const fileHash = createHash('sha256');
  const dbHash = createHash('sha256');
  let offset = 0;
  const tail: Buffer[] = [];
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    fileHash.update(chunk);
    const inDb = Math.max(0, Math.min(chunk.length, dbEnd - offset));
    dbHash.update(chunk.subarray(0, inDb));
    tail.push(chunk.subarray(inDb));
    offset += chunk.length;
  }
  if (hasDigest && !Buffer.concat(tail).equals(dbHash.digest())) {
    throw new SnapshotIntegrityError(`${file}: the SHA-256 digest at its end does not match its content`);
  }
  return { size, sha256: fileHash.digest('hex'), hasDigest };
}

/** Aborts its signal when `touch` is not called for `timeoutMs`. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;
  readonly signal = this.controller.signal;

  constructor(readonly timeoutMs: number) {
    this.timer = this.start();
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = this.start();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private start(): NodeJS.Timeout {
    return setTimeout(() => this.controller.abort(), this.timeoutMs);
  }
}

async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    offset += (await file.write(chunk, offset)).bytesWritten;
  }
}

/** A rename is durable once the directory holding it is synced. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
