/** Maps an API server's refusal (HTTP status + `Status` body) to the library's typed errors. Pure. */
import {
  AlreadyExistsError,
  ApiError,
  ConflictError,
  ForbiddenError,
  GoneError,
  NotFoundError,
  UnavailableError,
  ValidationError,
  type FieldError,
  type FieldErrorReason,
} from '../errors.js';

/** metav1.Status as the API server sends it with every error. */
export interface Status {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

const FIELD_REASONS = new Set<string>([
  'FieldValueRequired',
  'FieldValueInvalid',
  'FieldValueNotSupported',
  'FieldValueForbidden',
  'FieldValueTypeInvalid',
  'FieldValueTooLong',
  'FieldValueTooMany',
  'FieldValueUnknown',
] satisfies FieldErrorReason[]);

export function asStatus(body: unknown): Status | undefined {
  return typeof body === 'object' && body !== null && (body as Status).kind === 'Status' ? body : undefined;
}

function fieldErrors(status: Status): FieldError[] {
  return (status.details?.causes ?? []).map((c) => ({
    field: c.field ?? '',
    reason: (FIELD_REASONS.has(c.reason ?? '') ? c.reason : 'FieldValueInvalid') as FieldErrorReason,
    message: c.message ?? '',
  }));
}

/**
 * The typed error for HTTP `code` with response `body`. `what` names the request (`GET
 * /api/v1/namespaces/x/pods/y`) for when the server sent no message.
 */
export function apiError(code: number, body: unknown, what: string): Error {
  const status = asStatus(body);
  const message = status?.message || `${what}: HTTP ${code}`;
  const reason = status?.reason;
  if (code === 404) return new NotFoundError(message);
  if (code === 409)
    return reason === 'AlreadyExists' ? new AlreadyExistsError(message) : new ConflictError(message);
  if (code === 410) return new GoneError(message);
  if (code === 401 || code === 403) return new ForbiddenError(message);
  if (code === 422 && status) {
    const errors = fieldErrors(status);
    if (errors.length > 0) return new ValidationError(status.details?.kind ?? 'object', errors);
  }
  if (code === 429 || code >= 500) return new UnavailableError(message);
  return new ApiError(message, code, reason);
}
