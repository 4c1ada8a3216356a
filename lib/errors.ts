/**
 * The typed errors of the library. Each carries what a caller needs to decide, and a message fit to
 * show a person on one line. Wrap with `{ cause }` rather than concatenating messages.
 * The CLI maps them to exit codes in exactly one place (plugin/main.ts).
 */

export class EtcdOperatorError extends Error {
  override name = 'EtcdOperatorError';
}

/** A field of a resource is wrong; `field` is a dotted path such as `spec.storage.size`. */
export interface FieldError {
  field: string;
  /** The Kubernetes cause reason: FieldValueRequired, FieldValueInvalid, … */
  reason: FieldErrorReason;
  /** What is wrong, without the field path: `must be <= 9`. */
  message: string;
}

export type FieldErrorReason =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTypeInvalid'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueUnknown';

export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${e.message}`;
}

/** A resource failed validation. `message` lists every field error, `; `-separated. */
export class ValidationError extends EtcdOperatorError {
  override name = 'ValidationError';
  constructor(
    readonly kind: string,
    readonly errors: readonly FieldError[],
  ) {
    super(`invalid ${kind}: ${errors.map(formatFieldError).join('; ')}`);
  }
}

/** The user asked for something malformed (bad flag, bad argument); exit code 3 in the CLI. */
export class UsageError extends EtcdOperatorError {
  override name = 'UsageError';
}

/** The thing asked for does not exist. */
export class NotFoundError extends EtcdOperatorError {
  override name = 'NotFoundError';
}

/** An optimistic-concurrency conflict or an object that already exists; retry after re-reading. */
export class ConflictError extends EtcdOperatorError {
  override name = 'ConflictError';
}

/** A create found the name taken (HTTP 409, reason AlreadyExists): a ConflictError that re-reading will not fix. */
export class AlreadyExistsError extends ConflictError {
  override name = 'AlreadyExistsError';
}

/** The resourceVersion asked for is older than the server keeps (HTTP 410): list again. */
export class GoneError extends EtcdOperatorError {
  override name = 'GoneError';
}

/** The API server refused a request for a reason no other class names (400, 405, 415, …). */
export class ApiError extends EtcdOperatorError {
  override name = 'ApiError';
  constructor(
    message: string,
    /** The HTTP status code. */
    readonly code: number,
    /** The `reason` of the server's Status (BadRequest, MethodNotAllowed, …), when it sent one. */
    readonly reason?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** This process no longer holds the leader-election lease; whatever it was reconciling must stop. */
export class LeadershipLostError extends EtcdOperatorError {
  override name = 'LeadershipLostError';
}

/** The caller may not do this (HTTP 401/403). */
export class ForbiddenError extends EtcdOperatorError {
  override name = 'ForbiddenError';
}

/** A server (the API server or an etcd member) could not be reached or did not answer in time. */
export class UnavailableError extends EtcdOperatorError {
  override name = 'UnavailableError';
}

/** The user interrupted a long operation (Ctrl-C); whatever it started has been undone. */
export class InterruptedError extends EtcdOperatorError {
  override name = 'InterruptedError';
}

/** A failure that retrying cannot fix; a controller records it and does not requeue. */
export class TerminalError extends EtcdOperatorError {
  override name = 'TerminalError';
}

/** A certificate or key is malformed or unusable. The message never contains key material. */
export class CertificateError extends EtcdOperatorError {
  override name = 'CertificateError';
}

/** A learner cannot be promoted yet: it has not caught up with the leader's log. Retry later. */
export class LearnerNotInSyncError extends EtcdOperatorError {
  override name = 'LearnerNotInSyncError';
}

/** A snapshot file or stream failed its integrity check (size or SHA-256 trailer). */
export class SnapshotIntegrityError extends EtcdOperatorError {
  override name = 'SnapshotIntegrityError';
}

/** A storage bucket (S3, GCS) does not exist, as distinct from an object in it that is absent. */
export class BucketNotFoundError extends NotFoundError {
  override name = 'BucketNotFoundError';
}

/** True for a NotFoundError anywhere in the `cause` chain. */
export function isNotFound(err: unknown): boolean {
  return hasCause(err, NotFoundError) !== undefined;
}

/** Returns undefined for a NotFoundError and rethrows anything else (controller-runtime's IgnoreNotFound). */
export function ignoreNotFound(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}

/** The first error of `type` in the `cause` chain of `err`, if any. */
export function hasCause<T extends Error>(
  err: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 16; depth++) {
    if (e instanceof type) return e;
    e = e.cause;
  }
  return undefined;
}
