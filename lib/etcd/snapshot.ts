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
import type { EtcdAdmin, SnapshotChunk } from './admin.js';

const SHA256_SIZE = 32;
const BLOCK_BYTES = 1 << 20;
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
  const snapshot = await streamSnapshot(admin, endpoint, options);
  const part = `${file}.part`;
  const handle = await open(part, 'w');
  try {
    for await (const blob of snapshot.bytes) await writeAll(handle, blob);
    await handle.sync();
    await handle.close();
    await rename(part, file);
    await syncDirectory(dirname(file));
    return { revision: snapshot.revision, ...snapshot.digest() };
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(part, { force: true });
    throw err;
  }
}

export interface SnapshotStream {
  /** The store's revision just before the stream began: the snapshot holds at least this. */
  revision: number;
  /**
   * The snapshot file's bytes. It throws instead of ending when the stream ends short or etcd's
   * trailer does not match, so a consumer that commits on end (an upload) never commits a bad one;
   * it throws InterruptedError on abort and UnavailableError when the member goes quiet.
   */
  bytes: AsyncIterable<Buffer>;
  /** Size and SHA-256 of the whole file; call once `bytes` has ended. */
  digest(): { size: number; sha256: string };
}

/** Opens a snapshot of the member at `endpoint`, checked in the same pass as it is read. */
export async function streamSnapshot(
  admin: EtcdAdmin,
  endpoint: string,
  options: SaveSnapshotOptions = {},
): Promise<SnapshotStream> {
  const interrupted = () => new InterruptedError(`snapshot of ${endpoint} interrupted; nothing was written`);
  if (options.signal?.aborted) throw interrupted();
  const { revision } = await admin.status(endpoint);
  const digest = new SnapshotDigest();
  let result: { size: number; sha256: string } | undefined;
  async function* bytes(): AsyncGenerator<Buffer> {
    const idle = new IdleTimer(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
    try {
      // etcd sends 32 KiB messages; handed on in blocks of about 1 MiB, they cost a writer or an
      // uploader 32 times fewer writes, and their concatenation is a memcpy.
      const block = new BlockBuffer(BLOCK_BYTES);
      for await (const chunk of admin.snapshot(endpoint, { signal })) {
        idle.touch();
        digest.update(chunk);
        options.onProgress?.(digest.progress());
        const full = block.add(chunk.blob);
        if (full) yield full;
      }
      result = digest.finish();
      const rest = block.take();
      if (rest) yield rest;
    } catch (err) {
      if (options.signal?.aborted) throw interrupted();
      if (idle.signal.aborted) {
        throw new UnavailableError(`snapshot of ${endpoint}: no data for ${idle.timeoutMs} ms`, {
          cause: err,
        });
      }
      throw err;
    } finally {
      idle.stop();
    }
  }
  return {
    revision,
    bytes: bytes(),
    digest: () => {
      if (!result) throw new Error('snapshot digest read before its stream ended');
      return result;
    },
  };
}

/** Gathers small buffers into blocks of at least `size` bytes. */
class BlockBuffer {
  private parts: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly size: number) {}

  /** Adds `part`; returns a block once `size` bytes are gathered. */
  add(part: Buffer): Buffer | undefined {
    this.parts.push(part);
    this.bytes += part.length;
    return this.bytes >= this.size ? this.take() : undefined;
  }

  /** What is gathered, as one buffer; undefined when nothing is. */
  take(): Buffer | undefined {
    if (this.bytes === 0) return undefined;
    const block = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    return block;
  }
}

/**
 * Follows a snapshot stream as it flows, in one pass: the file's size and SHA-256, and etcd's own
 * trailer checked against the database bytes. `update` throws SnapshotIntegrityError when the stream
 * contradicts itself, `finish` when it ended short or the trailer does not match.
 */
export class SnapshotDigest {
  // One SHA-256 pass: the file's digest is the database's continued over the trailer (see settle).
  private readonly dbHash = createHash('sha256');
  private dbSize: number | undefined;
  private dbReceived = 0;
  private written = 0;
  private readonly trailer: Buffer[] = [];

  update({ blob, remainingBytes }: SnapshotChunk): void {
    this.dbSize ??= remainingBytes + blob.length;
    if (this.dbReceived < this.dbSize) {
      this.dbHash.update(blob);
      this.dbReceived += blob.length;
      if (remainingBytes !== this.dbSize - this.dbReceived) {
        throw new SnapshotIntegrityError(
          `snapshot stream is inconsistent: ${this.dbReceived} of ${this.dbSize} bytes received but ${remainingBytes} announced to come`,
        );
      }
    } else {
      this.trailer.push(blob);
    }
    this.written += blob.length;
  }

  progress(): SnapshotProgress {
    return { bytes: this.written, totalBytes: (this.dbSize ?? 0) + SHA256_SIZE };
  }

  finish(): { size: number; sha256: string } {
    const { problem, ...digest } = this.settle();
    if (problem !== undefined) throw new SnapshotIntegrityError(problem);
    return digest;
  }

  /**
   * Size and SHA-256 of everything received, and what is wrong with it as a snapshot (ended short,
   * trailer not matching), without throwing: for callers that compare the digest with a record
   * first. Call once, at the end, instead of `finish`.
   */
  settle(): { size: number; sha256: string; problem?: string } {
    const trailer = Buffer.concat(this.trailer);
    const digest = { size: this.written, sha256: this.dbHash.copy().update(trailer).digest('hex') };
    if (this.dbSize === undefined || this.dbReceived !== this.dbSize || trailer.length !== SHA256_SIZE) {
      return {
        ...digest,
        problem: `snapshot stream ended early: ${this.dbReceived} of ${this.dbSize ?? '?'} database bytes, ${trailer.length} of ${SHA256_SIZE} digest bytes`,
      };
    }
    if (!trailer.equals(this.dbHash.digest())) {
      return { ...digest, problem: 'snapshot digest does not match the data received' };
    }
    return digest;
  }
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
