import t from 'tap';
import {
  ConflictError,
  ForbiddenError,
  InterruptedError,
  NotFoundError,
  UnavailableError,
  UsageError,
  ValidationError,
} from '../../lib/errors.js';
import { EXIT, exitCodeFor, messageFor } from '../../plugin/exit-codes.js';
import { parseRequestTimeout, requireFormat } from '../../plugin/options.js';

t.test('--request-timeout reads as kubectl reads it', async (t) => {
  t.equal(parseRequestTimeout(undefined), undefined);
  t.equal(parseRequestTimeout('0'), undefined, '0 means no limit');
  t.equal(parseRequestTimeout('5'), 5000, 'a bare number is seconds');
  t.equal(parseRequestTimeout('1m30s'), 90_000);
  t.equal(parseRequestTimeout('250ms'), 250);
  t.throws(() => parseRequestTimeout('soon'), UsageError);
});

t.test('a command that prints only some formats refuses the others', async (t) => {
  t.equal(requireFormat('json', ['table', 'json']), 'json');
  t.throws(() => requireFormat('name', ['table', 'json']), {
    name: 'UsageError',
    message: /prints -o table\|json, not name/,
  });
});

t.test('each typed error has its documented exit code, found through causes', async (t) => {
  const table: [Error, number][] = [
    [new Error('plain'), EXIT.error],
    [new ConflictError('conflict'), EXIT.error],
    [new UnavailableError('down'), EXIT.unavailable],
    [new UsageError('bad flag'), EXIT.usage],
    [
      new ValidationError('EtcdCluster', [
        { field: 'spec.size', reason: 'FieldValueInvalid', message: 'too big' },
      ]),
      EXIT.usage,
    ],
    [new NotFoundError('gone'), EXIT.notFound],
    [new InterruptedError('stopped'), EXIT.interrupted],
    [new ForbiddenError('no'), EXIT.forbidden],
    [new Error('wrapped', { cause: new ForbiddenError('no') }), EXIT.forbidden],
  ];
  for (const [err, code] of table) t.equal(exitCodeFor(err), code, `${err.name}: ${err.message}`);
});

t.test('the message is one line', async (t) => {
  t.equal(messageFor(new Error('first\n  second\n')), 'first second');
  t.equal(messageFor('text'), 'text');
  t.equal(messageFor(new Error('')), 'unknown error');
});
