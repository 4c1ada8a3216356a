/**
 * The Google Cloud Storage adapter of SnapshotStore. `put` streams a resumable upload in 8 MiB
 * chunks, checked by CRC32C, that GCS finalises only after the last chunk: a failure or an abort
 * leaves no object. Credentials are a service-account key (the parsed JSON); without them the
 * default credentials (workload identity) are used, or none at all against a custom endpoint
 * such as an emulator.
 */
import { Storage, type File } from '@google-cloud/storage';
import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  bucketLocation,
  countBytes,
  isAbort,
  isUnreachable,
  storeError,
  withTranslatedErrors,
  type StoreFailure,
} from './object-store.js';
import type { PutOptions, SnapshotStore, StoredObject } from './store.js';

export interface GcsStoreOptions {
  bucket: string;
  /** A folder in the bucket: `etcd/prod` keeps objects under `etcd/prod/`. */
  prefix?: string;
  /** A service-account key file, parsed. */
  credentials?: Record<string, unknown>;
  /** A GCS-compatible endpoint, such as an emulator's (`http://127.0.0.1:4443`). */
  apiEndpoint?: string;
  projectId?: string;
  /** How often a failed request is retried, backing off exponentially from 1 s; default 3. */
  maxRetries?: number;
}

/** The chunk of a resumable upload held in memory (GCS wants a multiple of 256 KiB). */
const CHUNK_SIZE = 8 * 1024 * 1024;
/** Fields of a service-account key that must never reach a message. */
const SECRET_FIELDS = ['private_key', 'private_key_id', 'client_secret', 'refresh_token'];

export function createGcsStore(options: GcsStoreOptions): SnapshotStore {
  const { bucket: bucketName, credentials, apiEndpoint } = options;
  const location = bucketLocation('gs', bucketName, options.prefix);
  const projectId = options.projectId ?? (credentials?.project_id as string | undefined);
  const storage = new Storage({
    ...(apiEndpoint !== undefined
      ? { apiEndpoint, useAuthWithCustomEndpoint: credentials !== undefined }
      : {}),
    ...(credentials ? { credentials } : {}),
    ...(projectId !== undefined ? { projectId } : {}),
    ...(options.maxRetries !== undefined ? { retryOptions: { maxRetries: options.maxRetries } } : {}),
  });
  const bucket = storage.bucket(bucketName);
  const secrets = SECRET_FIELDS.map((field) => credentials?.[field]).filter(
    (v): v is string => typeof v === 'string',
  );

  /** What `err` means; a 404 is the bucket's when the bucket is gone, else the object's. */
  const failureOf = async (err: unknown, signal?: AbortSignal): Promise<StoreFailure> => {
    const failure = classify(err, signal);
    if (failure !== 'object') return failure;
    const [exists] = await bucket.exists().catch(() => [true]);
    return exists ? 'object' : 'bucket';
  };
  const context = (action: string, name?: string) => ({
    location,
    bucket: bucketName,
    action,
    secrets,
    ...(name !== undefined ? { name } : {}),
  });
  const fail = async (err: unknown, action: string, name?: string, signal?: AbortSignal) =>
    storeError(await failureOf(err, signal), err, context(action, name));

  return {
    description: location.description,

    async put(name: string, body: Readable, putOptions: PutOptions = {}) {
      const { signal, onProgress, contentType } = putOptions;
      const action = `writing "${name}"`;
      const file = bucket.file(location.keyOf(name));
      const source = countBytes(body);
      const upload = file.createWriteStream({
        resumable: true,
        chunkSize: CHUNK_SIZE,
        validation: 'crc32c',
        ...(contentType !== undefined ? { contentType } : {}),
      });
      if (onProgress)
        upload.on(
          'progress',
          (p: { bytesWritten?: number }) => p.bytesWritten !== undefined && onProgress(p.bytesWritten),
        );
      try {
        // An abort destroys the upload stream: the resumable session is never finalised.
        await pipeline(source.stream, upload, ...(signal ? [{ signal }] : []));
      } catch (err) {
        const sourceError = signal?.aborted ? undefined : source.sourceError();
        if (sourceError !== undefined) throw sourceError;
        throw await fail(err, action, name, signal);
      }
      return { size: source.bytes() };
    },

    async get(name, { signal } = {}) {
      const action = `reading "${name}"`;
      const file = bucket.file(location.keyOf(name));
      let pinned: File;
      try {
        signal?.throwIfAborted();
        // Read the generation seen here, so a concurrent overwrite cannot mix two objects.
        const [metadata] = await file.getMetadata();
        pinned = bucket.file(
          file.name,
          metadata.generation !== undefined ? { generation: metadata.generation } : {},
        );
      } catch (err) {
        throw await fail(err, action, name, signal);
      }
      const stream = pinned.createReadStream({ validation: 'crc32c' });
      if (signal) addAbortSignal(signal, stream);
      return withTranslatedErrors(stream, (err) =>
        storeError(classify(err, signal), err, context(action, name)),
      );
    },

    async list(prefix) {
      try {
        const [files] = await bucket.getFiles({ prefix: location.root + prefix, autoPaginate: true });
        return files
          .filter((f) => !f.name.endsWith('/'))
          .map((f): StoredObject => ({
            name: location.nameOf(f.name),
            size: Number(f.metadata.size ?? 0),
            modified: new Date(f.metadata.updated ?? 0),
          }));
      } catch (err) {
        throw await fail(err, `listing "${prefix}"`);
      }
    },

    async delete(name) {
      const action = `deleting "${name}"`;
      try {
        await bucket.file(location.keyOf(name)).delete();
      } catch (err) {
        const failure = await failureOf(err);
        if (failure !== 'object') throw storeError(failure, err, context(action, name));
      }
    },
  };
}

function classify(err: unknown, signal?: AbortSignal): StoreFailure {
  if (signal?.aborted || isAbort(err)) return 'interrupted';
  const { code } = err as { code?: unknown };
  const status = typeof code === 'number' ? code : Number((err as { status?: unknown }).status ?? NaN);
  if (status === 404) return 'object';
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 429 || status >= 500 || isUnreachable(err)) return 'unavailable';
  return 'other';
}
