/**
 * The SnapshotStore port: where backups are kept. Adapters (volume, S3, GCS) implement it; the
 * backup controller and restores use only this interface.
 *
 * Names are keys relative to the location's prefix or path, such as
 * `demo/20261206T120000Z-7f3a.db` and its manifest `demo/20261206T120000Z-7f3a.json`.
 * `put` is all-or-nothing: a reader never sees a partly written object under `name` (the volume
 * writes NAME.partial then renames; S3 completes a multipart upload only at the end, and aborts it
 * on failure; GCS finalises a resumable upload only at the end).
 */
import type { Readable } from 'node:stream';

export interface StoredObject {
  /** The key relative to the location's prefix. */
  name: string;
  size: number;
  /** When the store last wrote it. */
  modified: Date;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Called as bytes reach the store (best effort: adapters report what their SDK reports). */
  onProgress?: (bytesStored: number) => void;
  contentType?: string;
}

export interface SnapshotStore {
  /** A one-line description for messages, without credentials: `s3://bucket/prefix`, `volume backups:/etcd`. */
  readonly description: string;
  /** Writes `body` under `name`; resolves once the object is durable and visible. */
  put(name: string, body: Readable, options?: PutOptions): Promise<{ size: number }>;
  /** Reads an object; throws NotFoundError when it is absent. */
  get(name: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** Objects whose names start with `prefix` (relative to the location), in no particular order. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes an object; absent is fine. */
  delete(name: string): Promise<void>;
}
