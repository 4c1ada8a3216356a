/**
 * The S3 adapter of SnapshotStore (AWS S3 and S3-compatible stores). `put` streams a multipart
 * upload of 5 MiB parts, at most two in flight, and completes it only at the end; a failure or an
 * abort aborts the multipart upload, so nothing appears under the name. A server that dies mid-put
 * cannot be told to abort: `delete` of the name aborts every multipart upload still pending for its
 * key, so what a crash or an outage left is removed by the deletion that settles the run. Without
 * credentials the SDK's default chain (environment, IRSA web identity, instance profile) is used.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { addAbortSignal, type Readable } from 'node:stream';
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

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  /** A folder in the bucket: `etcd/prod` keeps objects under `etcd/prod/`. */
  prefix?: string;
  /** Absent: the SDK's default chain decides. */
  region?: string;
  /** An S3-compatible endpoint URL, for storage other than AWS. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Absent: the SDK's default credential chain. */
  credentials?: S3Credentials;
  /** `AES256` or `aws:kms`, applied to every object written. */
  serverSideEncryption?: string;
}

/** Error codes (the SDK error's `name`) by what they mean for a caller. */
const FORBIDDEN = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
  // versitygw answers an unknown access key with 404 XAdminUserNotFound (AWS: 403 InvalidAccessKeyId).
  'XAdminUserNotFound',
]);
const UNAVAILABLE = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'Throttling',
]);

/**
 * S3's smallest part: each part in flight is held in memory. 10,000 parts make at most 48.8 GiB, six
 * times etcd's largest supported quota.
 */
const PART_SIZE = 5 * 1024 * 1024;
const UPLOADS = new Set(['PutObjectCommand', 'UploadPartCommand']);

export function createS3Store(options: S3StoreOptions): SnapshotStore {
  const { bucket, credentials } = options;
  const location = bucketLocation('s3', bucket, options.prefix);
  const client = new S3Client({
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(credentials ? { credentials } : {}),
    // A dead connection fails instead of hanging; the SDK retries three times before giving up.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    // The sha256 of every snapshot, checked on the read-back after each put and again by every
    // restore, is what proves the object. The SDK's own CRC32s (and the payload hash of the
    // signature, below) would each pass over every byte again: without them a 128 MiB upload into
    // versitygw here took 0.65 s rather than 0.9 s, and its read-back 0.3 s rather than 0.75 s, both
    // CPU-bound; and S3-compatible servers that predate flexible checksums accept the requests.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  client.middlewareStack.add(
    (next, context) => (args) => {
      const { headers } = args.request as { headers?: Record<string, string> };
      if (headers && UPLOADS.has(context.commandName ?? ''))
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'unsignedUploadPayload' },
  );
  const secrets = credentials
    ? [credentials.secretAccessKey, credentials.sessionToken ?? '', credentials.accessKeyId]
    : [];

  /** Aborts every multipart upload pending for exactly `key` (a put cut off half-way leaves one). */
  const abortUploads = async (key: string) => {
    const pending: string[] = [];
    try {
      let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
      for (;;) {
        const page = await client.send(
          new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, ...markers }),
        );
        for (const { Key, UploadId } of page.Uploads ?? []) {
          if (Key === key && UploadId !== undefined) pending.push(UploadId);
        }
        if (!page.IsTruncated || page.NextKeyMarker === undefined) break;
        markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
    } catch (err) {
      // A store without multipart listing has nothing this adapter could clean.
      if (codeOf(err) === 'NotImplemented') return;
      throw err;
    }
    for (const UploadId of pending) {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
      } catch (err) {
        // Completed or aborted meanwhile: nothing is pending any more.
        if (codeOf(err) !== 'NoSuchUpload') throw err;
      }
    }
  };

  const fail = (err: unknown, action: string, name?: string, signal?: AbortSignal) =>
    storeError(classify(err, signal), err, { location, bucket, action, secrets, ...(name ? { name } : {}) });

  return {
    description: location.description,

    async put(name: string, body: Readable, putOptions: PutOptions = {}) {
      const { signal, onProgress, contentType } = putOptions;
      const action = `writing "${name}"`;
      const key = location.keyOf(name);
      if (signal?.aborted) throw fail(signal.reason, action, name, signal);
      // An abort destroys the stream the upload reads: lib-storage then aborts the multipart upload
      // and only settles once that is done (Upload.abort() would settle before its parts stop).
      const source = countBytes(body);
      if (signal) addAbortSignal(signal, source.stream);
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key: key,
          Body: source.stream,
          ...(contentType !== undefined ? { ContentType: contentType } : {}),
          ...(options.serverSideEncryption !== undefined
            ? { ServerSideEncryption: options.serverSideEncryption as ServerSideEncryption }
            : {}),
        },
        queueSize: 2,
        partSize: PART_SIZE,
        leavePartsOnError: false,
      });
      if (onProgress) upload.on('httpUploadProgress', (p) => p.loaded !== undefined && onProgress(p.loaded));
      try {
        await upload.done();
      } catch (err) {
        const sourceError = signal?.aborted ? undefined : source.sourceError();
        source.stream.destroy();
        const failure = classify(err, signal);
        // lib-storage aborts its own upload, unless that abort failed too; try once more where the
        // server answers (a stopped one is cleaned up by the delete that settles the run).
        if (failure !== 'unavailable' && failure !== 'bucket' && failure !== 'forbidden') {
          await abortUploads(key).catch(() => undefined);
        }
        if (sourceError !== undefined) throw sourceError;
        throw storeError(failure, err, { location, bucket, action, secrets, name });
      }
      return { size: source.bytes() };
    },

    async get(name, { signal } = {}) {
      const action = `reading "${name}"`;
      const key = location.keyOf(name);
      try {
        const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
          ...(signal ? { abortSignal: signal } : {}),
        });
        const body = Body as Readable;
        if (signal) addAbortSignal(signal, body);
        return withTranslatedErrors(body, (err) => fail(err, action, name, signal));
      } catch (err) {
        throw fail(err, action, name, signal);
      }
    },

    async list(prefix) {
      const objects: StoredObject[] = [];
      try {
        for await (const page of paginateListObjectsV2(
          { client },
          { Bucket: bucket, Prefix: location.root + prefix },
        )) {
          for (const { Key, Size, LastModified } of page.Contents ?? []) {
            // Keys ending in / are folder markers some tools write, not snapshots.
            if (Key === undefined || Key.endsWith('/')) continue;
            objects.push({
              name: location.nameOf(Key),
              size: Size ?? 0,
              modified: LastModified ?? new Date(0),
            });
          }
        }
      } catch (err) {
        throw fail(err, `listing "${prefix}"`);
      }
      return objects;
    },

    async delete(name) {
      const key = location.keyOf(name);
      try {
        await abortUploads(key);
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        const failure = classify(err);
        if (failure !== 'object')
          throw storeError(failure, err, { location, bucket, action: `deleting "${name}"`, secrets });
      }
    },
  };
}

function codeOf(err: unknown): unknown {
  const { name, $metadata } = err as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return $metadata?.httpStatusCode === 501 ? 'NotImplemented' : name;
}

function classify(err: unknown, signal?: AbortSignal): StoreFailure {
  if (signal?.aborted || isAbort(err)) return 'interrupted';
  const { name, $metadata, message } = err as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    message?: string;
  };
  const status = $metadata?.httpStatusCode;
  if (name === 'NoSuchBucket') return 'bucket';
  if ((name !== undefined && FORBIDDEN.has(name)) || status === 401 || status === 403) return 'forbidden';
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return 'object';
  if (
    (name !== undefined && UNAVAILABLE.has(name)) ||
    (status !== undefined && status >= 500) ||
    status === 429
  ) {
    return 'unavailable';
  }
  if (isUnreachable(err)) return 'unavailable';
  if (typeof message === 'string' && /^Region is missing/.test(message)) return 'usage';
  return 'other';
}
