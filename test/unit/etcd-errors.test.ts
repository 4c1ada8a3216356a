import {
  EtcdError,
  GRPCDeadlineExceededError,
  GRPCFailedPreconditionError,
  GRPCUnavailableError,
} from 'etcd3';
import t from 'tap';
import {
  ConflictError,
  EtcdOperatorError,
  ForbiddenError,
  LearnerNotInSyncError,
  NotFoundError,
  UnavailableError,
  UsageError,
} from '../../lib/errors.js';
import { toEtcdError } from '../../lib/etcd/index.js';

t.test('etcd and gRPC failures become typed errors that say what to do', async (t) => {
  const table: [string, Error, typeof EtcdOperatorError, RegExp][] = [
    [
      'promote too early',
      new GRPCFailedPreconditionError(
        '9 FAILED_PRECONDITION: etcdserver: can only promote a learner member which is in sync with leader',
      ),
      LearnerNotInSyncError,
      /has not caught up with the leader yet; retry/,
    ],
    [
      'promote a voter',
      new EtcdError('etcdserver: can only promote a learner member'),
      ConflictError,
      /not a learner/,
    ],
    [
      'member gone',
      new EtcdError('5 NOT_FOUND: etcdserver: member not found'),
      NotFoundError,
      /member not found/,
    ],
    [
      'peer URL taken',
      new EtcdError('etcdserver: Peer URLs already exists'),
      ConflictError,
      /already exists/,
    ],
    [
      'learner limit',
      new EtcdError('etcdserver: too many learner members in cluster'),
      ConflictError,
      /learners/,
    ],
    [
      'quorum guard',
      new EtcdError('etcdserver: re-configuration failed due to not enough started members'),
      UnavailableError,
      /too few started members/,
    ],
    [
      'fresh cluster',
      new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: unhealthy cluster'),
      UnavailableError,
      /unhealthy cluster/,
    ],
    ['bad URLs', new EtcdError('etcdserver: given member URLs are invalid'), UsageError, /invalid/],
    ['not the leader', new EtcdError('etcdserver: not leader'), UnavailableError, /not leader/],
    ['no leader', new EtcdError('etcdserver: no leader'), UnavailableError, /no leader/],
    [
      'no connection',
      new GRPCUnavailableError('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED'),
      UnavailableError,
      /ECONNREFUSED/,
    ],
    [
      'deadline',
      new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded'),
      UnavailableError,
      /Deadline/,
    ],
    [
      'client certificate refused',
      new GRPCUnavailableError(
        '14 UNAVAILABLE: No connection established. Last error: …:tlsv13 alert certificate required:…',
      ),
      ForbiddenError,
      /refused the client certificate/,
    ],
    [
      'certificate for other names',
      new GRPCUnavailableError(
        "14 UNAVAILABLE: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames",
      ),
      UnavailableError,
      /give the server name/,
    ],
    ['anything else', new Error('boom'), EtcdOperatorError, /boom/],
  ];
  for (const [what, err, Type, message] of table) {
    const mapped = toEtcdError(err, 'member add', 'https://10.0.0.1:2379');
    t.type(mapped, Type, what);
    t.equal(mapped.name, Type.name, `${what}: exactly ${Type.name}`);
    t.match(mapped.message, /^etcd member add at https:\/\/10\.0\.0\.1:2379: /, `${what}: names the call`);
    t.match(mapped.message, message, what);
    t.equal(mapped.cause, err, `${what}: keeps the cause`);
  }
  const already = new NotFoundError('x');
  t.equal(toEtcdError(already, 'op', 'e'), already, 'typed errors pass through');
});
