/**
 * What the bucket adapters of SnapshotStore (S3, GCS) share: keys under a location's prefix, a byte
 * counter for `put`, and the translation of SDK failures into the library's typed errors with
 * one-line messages that name the store and never carry credentials.
 */
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import {
  BucketNotFoundError,
  EtcdOperatorError,
  ForbiddenError,
  InterruptedError,
  NotFoundError,
  UnavailableError,
  UsageError,
} from '../errors.js';

/** How names map to object keys in a bucket, and how messages name the location. */
export interface BucketLocation {
  /** `s3://bucket/prefix/`, `gs://bucket/prefix/`. */
  description: string;
  /** The normalised prefix: empty, or ending in `/` without a leading `/`. */
  root: string;
  /** The key of `name`; a UsageError for an empty name or one starting with `/`. */
  keyOf(name: string): string;
  /** The name (relative to the prefix) of a key listed under the prefix. */
  nameOf(key: string): string;
}

/**
 * A location's prefix is a folder: `etcd/prod` and `/etcd/prod/` both keep objects under
 * `etcd/prod/`, so names never run into a neighbouring prefix (`etcd/prod-2/`).
 */
export function bucketLocation(scheme: 's3' | 'gs', bucket: string, prefix = ''): BucketLocation {
  const trimmed = prefix.replace(/^\/+/, '');
  const root = trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
  const description = `${scheme}://${bucket}/${root}`;
  return {
    description,
    root,
    keyOf(name) {
      if (name === '' || name.startsWith('/')) {
        throw new UsageError(`${description}: "${name}" is not an object name (empty, or starts with /)`);
      }
      return root + name;
    },
    nameOf: (key) => key.slice(root.length),
  };
}

/**
 * `body` through a byte counter. Destroying `stream` destroys `body`; an error of `body` itself (a
 * snapshot failing its check half-way) is kept, so that `put` rethrows it as it is.
 */
export function countBytes(body: Readable): {
  stream: Readable;
  bytes(): number;
  sourceError(): Error | undefined;
} {
  let bytes = 0;
  let sourceError: Error | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  // Registered before pipeline's own listener: an error of body's own comes while stream is whole;
  // one that follows a destroy of stream (an abort, a failed upload) is not body's.
  body.once('error', (err) => {
    if (!stream.destroyed) sourceError ??= err;
  });
  pipeline(body, stream, () => {});
  return { stream, bytes: () => bytes, sourceError: () => sourceError };
}

/** `source` with its errors translated: what a reader of `get` sees fail mid-way is typed too. */
export function withTranslatedErrors(source: Readable, translate: (err: unknown) => Error): Readable {
  const out = new PassThrough();
  source.once('error', (err) => out.destroy(translate(err)));
  out.once('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(out);
}

/** What went wrong, as far as a caller needs to decide. */
export type StoreFailure =
  'bucket' | 'object' | 'forbidden' | 'unavailable' | 'interrupted' | 'usage' | 'other';

/** Errors codes of Node, undici and the SDKs' HTTP layers that mean the store could not be reached. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'TimeoutError',
]);

/** True when `err` or one of its causes is a connection failure (refused, reset, timeout, DNS). */
export function isUnreachable(err: unknown): boolean {
  return causes(err).some((e) => {
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    return (
      UNREACHABLE.has(String(code)) ||
      UNREACHABLE.has(String(name)) ||
      (typeof message === 'string' && /socket hang up|ECONNREFUSED|ECONNRESET/.test(message))
    );
  });
}

/** True when `err` or one of its causes is an AbortError. */
export function isAbort(err: unknown): boolean {
  return causes(err).some((e) => (e as { name?: unknown }).name === 'AbortError');
}

function causes(err: unknown): object[] {
  const chain: object[] = [];
  for (
    let e = err;
    typeof e === 'object' && e !== null && chain.length < 8;
    e = (e as { cause?: unknown }).cause
  ) {
    chain.push(e);
    // Node reports a refused dual-stack connect as an AggregateError of one error per address.
    if (e instanceof AggregateError)
      chain.push(...(e.errors.filter((x) => typeof x === 'object') as object[]));
  }
  return chain;
}

export interface FailureContext {
  location: BucketLocation;
  bucket: string;
  /** What was being done, for the message: `writing "demo/x.db"`. */
  action: string;
  /** The object's name, for `object` failures. */
  name?: string;
  /** Values that must never appear in a message (keys, secrets, tokens). */
  secrets: readonly string[];
}

/**
 * The typed error for a classified failure: BucketNotFoundError, NotFoundError, ForbiddenError,
 * UnavailableError, InterruptedError, UsageError, or a plain EtcdOperatorError; `err` is its cause.
 */
export function storeError(failure: StoreFailure, err: unknown, context: FailureContext): Error {
  const { description } = context.location;
  const detail = oneLine(err, context.secrets);
  const options = { cause: err };
  switch (failure) {
    case 'bucket':
      return new BucketNotFoundError(`${description}: bucket "${context.bucket}" does not exist`, options);
    case 'object':
      return new NotFoundError(`${description}: no object "${context.name ?? ''}"`, options);
    case 'forbidden':
      return new ForbiddenError(`${description}: access denied ${context.action} (${detail})`, options);
    case 'unavailable':
      return new UnavailableError(
        `${description}: the store did not answer ${context.action} (${detail})`,
        options,
      );
    case 'interrupted':
      return new InterruptedError(`${description}: ${context.action} was interrupted`, options);
    case 'usage':
      return new UsageError(`${description}: ${context.action}: ${detail}`, options);
    case 'other':
      return new EtcdOperatorError(`${description}: ${context.action} failed: ${detail}`, options);
  }
}

/** An SDK error as one short line: its code and message, with every secret masked. */
function oneLine(err: unknown, secrets: readonly string[]): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : '';
  let message = typeof e.message === 'string' ? e.message : String(err);
  if (code !== '' && !message.includes(code)) message = `${code}: ${message}`;
  for (const secret of secrets) if (secret !== '') message = message.split(secret).join('***');
  message = message.replace(/\s+/g, ' ').trim();
  return message.length > 240 ? `${message.slice(0, 237)}...` : message;
}
