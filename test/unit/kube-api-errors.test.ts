import t from 'tap';
import {
  AlreadyExistsError,
  ApiError,
  ConflictError,
  ForbiddenError,
  GoneError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '../../lib/errors.js';
import { apiError } from '../../lib/kube/index.js';

const status = (code: number, reason: string, message: string, details?: object) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  code,
  reason,
  message,
  details,
});

t.test('API refusals map to the typed errors', async (t) => {
  const cases: [number, unknown, abstract new (...args: never[]) => Error][] = [
    [404, status(404, 'NotFound', 'configmaps "a" not found'), NotFoundError],
    [409, status(409, 'AlreadyExists', 'configmaps "a" already exists'), AlreadyExistsError],
    [409, status(409, 'Conflict', 'the object has been modified'), ConflictError],
    [410, status(410, 'Expired', 'too old resource version: 1 (20)'), GoneError],
    [401, status(401, 'Unauthorized', 'Unauthorized'), ForbiddenError],
    [403, status(403, 'Forbidden', 'pods is forbidden'), ForbiddenError],
    [429, status(429, 'TooManyRequests', 'slow down'), UnavailableError],
    [500, status(500, 'InternalError', 'boom'), UnavailableError],
    [503, 'upstream connect error', UnavailableError],
    [400, status(400, 'BadRequest', 'bad'), ApiError],
    [415, status(415, 'UnsupportedMediaType', 'nope'), ApiError],
  ];
  for (const [code, body, type] of cases) {
    const err = apiError(code, body, 'GET /api/v1/x');
    t.type(err, type, `${code} ${typeof body === 'string' ? body : (body as { reason: string }).reason}`);
  }
  t.notOk(
    apiError(409, status(409, 'Conflict', 'x'), '') instanceof AlreadyExistsError,
    'a Conflict is not AlreadyExists',
  );
  t.ok(
    apiError(409, status(409, 'AlreadyExists', 'x'), '') instanceof ConflictError,
    'AlreadyExists is a ConflictError',
  );
  t.equal(
    apiError(404, status(404, 'NotFound', 'configmaps "a" not found'), '').message,
    'configmaps "a" not found',
  );
  t.equal(
    apiError(502, undefined, 'GET /api/v1/x').message,
    'GET /api/v1/x: HTTP 502',
    'no Status: the request names it',
  );
  const bad = apiError(400, status(400, 'BadRequest', 'bad'), '') as ApiError;
  t.same([bad.code, bad.reason], [400, 'BadRequest']);
});

t.test('422 Invalid becomes a ValidationError with the field causes', async (t) => {
  const err = apiError(
    422,
    status(422, 'Invalid', 'EtcdCluster.etcd.io "demo" is invalid', {
      name: 'demo',
      group: 'etcd.io',
      kind: 'EtcdCluster',
      causes: [
        { reason: 'FieldValueInvalid', message: 'Invalid value: 12: must be <= 9', field: 'spec.size' },
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.version' },
        { reason: 'SomethingNew', message: 'odd', field: 'spec.x' },
      ],
    }),
    '',
  );
  t.type(err, ValidationError);
  t.same((err as ValidationError).errors, [
    { field: 'spec.size', reason: 'FieldValueInvalid', message: 'Invalid value: 12: must be <= 9' },
    { field: 'spec.version', reason: 'FieldValueRequired', message: 'Required value' },
    { field: 'spec.x', reason: 'FieldValueInvalid', message: 'odd' },
  ]);
  t.equal((err as ValidationError).kind, 'EtcdCluster');
  const plain = apiError(422, status(422, 'Invalid', 'the server rejected our request'), '');
  t.type(plain, ApiError, 'without causes it stays an ApiError with code 422');
});
