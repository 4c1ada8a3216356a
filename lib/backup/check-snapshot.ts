/**
 * A stored snapshot checked against its manifest in one pass: the size and SHA-256 the manifest
 * records, and etcd's own SHA-256 trailer over the database bytes (lib/etcd's SnapshotDigest).
 * Before a restore, nothing else proves that the object in storage is the snapshot that was taken.
 */
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { InterruptedError, SnapshotIntegrityError } from '../errors.js';
import { SnapshotDigest } from '../etcd/snapshot.js';
import type { SnapshotStore } from './store.js';

/** etcd's trailer: the SHA-256 of the database bytes before it. */
const TRAILER_SIZE = 32;

/** What a manifest says of its snapshot. */
export interface ExpectedSnapshot {
  size: number;
  sha256: string;
}

/** `ab12cd34ef56ab12…`: enough of a digest to tell two apart on one line. */
export function shortDigest(sha256: string): string {
  return sha256.length > 16 ? `${sha256.slice(0, 16)}…` : sha256;
}

/**
 * Follows a snapshot file's bytes, whose size the manifest gives: the part before the last 32 bytes
 * is the database, the last 32 its trailer. `finish` throws a SnapshotIntegrityError whose message
 * names the snapshot and the first thing wrong: its size, its SHA-256, then its trailer.
 */
export class SnapshotFileCheck {
  private readonly digest = new SnapshotDigest();
  private readonly dbSize: number;
  private received = 0;

  constructor(
    readonly name: string,
    readonly expected: ExpectedSnapshot,
  ) {
    if (!Number.isSafeInteger(expected.size) || expected.size <= TRAILER_SIZE) {
      throw new SnapshotIntegrityError(
        `snapshot ${name}: its manifest says ${expected.size} bytes, too few for a snapshot`,
      );
    }
    this.dbSize = expected.size - TRAILER_SIZE;
  }

  update(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const inDb = Math.max(0, Math.min(chunk.length, this.dbSize - this.received));
    if (inDb > 0) {
      const remainingBytes = this.dbSize - this.received - inDb;
      this.digest.update({ blob: chunk.subarray(0, inDb), remainingBytes });
    }
    if (inDb < chunk.length) this.digest.update({ blob: chunk.subarray(inDb), remainingBytes: 0 });
    this.received += chunk.length;
  }

  finish(): ExpectedSnapshot {
    const { size, sha256, problem } = this.digest.settle();
    if (size !== this.expected.size) {
      throw new SnapshotIntegrityError(
        `snapshot ${this.name} is ${size} bytes, its manifest says ${this.expected.size}`,
      );
    }
    if (sha256 !== this.expected.sha256) {
      throw new SnapshotIntegrityError(
        `snapshot ${this.name} has sha256 ${shortDigest(sha256)}, its manifest says ${shortDigest(this.expected.sha256)}`,
      );
    }
    if (problem !== undefined) throw new SnapshotIntegrityError(`snapshot ${this.name}: ${problem}`);
    return { size, sha256 };
  }
}

export interface ReadSnapshotOptions {
  signal?: AbortSignal;
  /** Called with the bytes read so far. */
  onProgress?: (bytes: number) => void;
}

/**
 * Reads `body` (the bytes of snapshot `name`) through a SnapshotFileCheck, handing each chunk to
 * `each` first; resolves with the checked size and SHA-256.
 */
export async function readCheckedSnapshot(
  name: string,
  body: AsyncIterable<Buffer> | Readable,
  expected: ExpectedSnapshot,
  options: ReadSnapshotOptions & { each?: (chunk: Buffer) => Promise<void> } = {},
): Promise<ExpectedSnapshot> {
  const check = new SnapshotFileCheck(name, expected);
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (options.signal?.aborted) throw new InterruptedError(`reading snapshot ${name} interrupted`);
      check.update(chunk);
      await options.each?.(chunk);
      bytes += chunk.length;
      options.onProgress?.(bytes);
    }
  } finally {
    if ('destroy' in body && typeof body.destroy === 'function') body.destroy();
  }
  if (options.signal?.aborted) throw new InterruptedError(`reading snapshot ${name} interrupted`);
  return check.finish();
}

/** Streams a stored snapshot once and checks it against its manifest; writes nothing. */
export async function checkStoredSnapshot(
  store: SnapshotStore,
  name: string,
  expected: ExpectedSnapshot,
  options: ReadSnapshotOptions = {},
): Promise<ExpectedSnapshot> {
  const body = await store.get(name, options.signal ? { signal: options.signal } : {});
  return readCheckedSnapshot(name, body, expected, options);
}

/**
 * Writes `body` to `file` (through FILE.part, fsynced, renamed) while checking it against its
 * manifest; a snapshot that fails the check leaves no file behind.
 */
export async function writeCheckedSnapshot(
  name: string,
  body: AsyncIterable<Buffer> | Readable,
  expected: ExpectedSnapshot,
  file: string,
  options: ReadSnapshotOptions = {},
): Promise<ExpectedSnapshot> {
  const part = `${file}.part`;
  const handle = await open(part, 'w');
  try {
    const checked = await readCheckedSnapshot(name, body, expected, {
      ...options,
      each: async (chunk) => {
        for (let offset = 0; offset < chunk.length;) {
          offset += (await handle.write(chunk, offset)).bytesWritten;
        }
      },
    });
    await handle.sync();
    await handle.close();
    await rename(part, file);
    const dir = await open(dirname(file), 'r');
    await dir.sync().finally(() => dir.close());
    return checked;
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(part, { force: true });
    throw err;
  }
}
