/** etcd3 / gRPC failures as the library's typed errors, each with a message a person can act on. */
import {
  ClientClosedError,
  EtcdPermissionDeniedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
} from 'etcd3';
import {
  ConflictError,
  EtcdOperatorError,
  ForbiddenError,
  LearnerNotInSyncError,
  NotFoundError,
  UnavailableError,
  UsageError,
} from '../errors.js';

type ErrorClass = new (message: string, options?: ErrorOptions) => EtcdOperatorError;

/** etcd's own error texts (api/v3rpc/rpctypes), most specific first. */
const ETCD_MESSAGES: [string, ErrorClass, string?][] = [
  [
    'can only promote a learner member which is in sync with leader',
    LearnerNotInSyncError,
    'the learner has not caught up with the leader yet; retry when it has',
  ],
  ['can only promote a learner member', ConflictError, 'the member is not a learner'],
  ['member not found', NotFoundError],
  ['member ID already exist', ConflictError],
  ['Peer URLs already exists', ConflictError, 'a member with these peer URLs already exists'],
  [
    'too many learner members in cluster',
    ConflictError,
    'the cluster already has as many learners as it allows',
  ],
  [
    're-configuration failed due to not enough started members',
    UnavailableError,
    'refused: the change would leave too few started members for quorum',
  ],
  ['given member URLs are invalid', UsageError],
  ['bad leader transferee', ConflictError, 'the target cannot lead (a learner, or not a member)'],
  ['unhealthy cluster', UnavailableError],
  ['no leader', UnavailableError],
  ['not leader', UnavailableError],
  ['leader changed', UnavailableError],
  ['request timed out', UnavailableError],
  ['server stopped', UnavailableError],
  ['permission denied', ForbiddenError],
];

/** TLS failures gRPC reports as "no connection", told apart by OpenSSL's and Node's words. */
const TLS_MESSAGES: [RegExp, ErrorClass, string][] = [
  [
    /alert (certificate required|bad certificate|unknown ca|certificate unknown)/,
    ForbiddenError,
    'the member refused the client certificate (none given, or not signed by the CA it trusts)',
  ],
  [
    /ERR_TLS_CERT_ALTNAME_INVALID/,
    UnavailableError,
    "the member's certificate does not name the address dialled: give the server name it was issued for",
  ],
  [
    /self[- ]signed certificate|unable to (get local issuer|verify the first) certificate/,
    UnavailableError,
    "the member's certificate is not signed by the CA given",
  ],
];

/** Wraps `err` from `operation` against `endpoint` in the matching typed error. */
export function toEtcdError(err: unknown, operation: string, endpoint: string): EtcdOperatorError {
  if (err instanceof EtcdOperatorError) return err;
  const detail = describe(err);
  const prefix = `etcd ${operation} at ${endpoint}`;
  for (const [text, Type, advice] of ETCD_MESSAGES) {
    if (detail.includes(`etcdserver: ${text}`)) {
      return new Type(`${prefix}: ${advice ?? detail}`, { cause: err });
    }
  }
  for (const [pattern, Type, advice] of TLS_MESSAGES) {
    if (pattern.test(detail)) return new Type(`${prefix}: ${advice}`, { cause: err });
  }
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError ||
    err instanceof ClientClosedError
  ) {
    return new UnavailableError(`${prefix}: ${detail}`, { cause: err });
  }
  if (err instanceof GRPCUnauthenticatedError || err instanceof EtcdPermissionDeniedError) {
    return new ForbiddenError(`${prefix}: ${detail}`, { cause: err });
  }
  return new EtcdOperatorError(`${prefix}: ${detail}`, { cause: err });
}

/** The server's words without gRPC's `14 UNAVAILABLE:` and etcd3's class-name prefixes. */
function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^\w+Error: /, '').replace(/^\d+ [A-Z_]+: /, '');
}
