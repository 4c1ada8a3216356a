import t from 'tap';
import { cronProblem, parseEtcdBackup, validateEtcdBackupUpdate } from '../../lib/api/index.js';
import { ValidationError } from '../../lib/errors.js';

function manifest(spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'etcd.io/v1alpha1', kind: 'EtcdBackup', metadata: { name: 'nightly' }, spec };
}
const s3 = { s3: { bucket: 'backups' } };

function errorsOf(input: unknown): string[] {
  try {
    parseEtcdBackup(input);
    return [];
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return err.errors.map((e) => `${e.field}: ${e.message}`).sort();
  }
}

t.test('defaults of a backup', async (t) => {
  const { object } = parseEtcdBackup(
    manifest({ clusterName: 'demo', storage: { volume: { claimName: 'snaps' } } }),
  );
  t.equal(object.spec.suspend, false);
  t.equal(object.spec.storage.volume?.path, '/');
  const s3Backup = parseEtcdBackup(manifest({ clusterName: 'demo', storage: s3 })).object;
  t.equal(s3Backup.spec.storage.s3?.forcePathStyle, false);
});

t.test('schema rules of a backup', async (t) => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['one shot to s3', { clusterName: 'demo', storage: s3 }, []],
    [
      'scheduled to gcs',
      { clusterName: 'demo', schedule: '0 */6 * * *', storage: { gcs: { bucket: 'b-1' } } },
      [],
    ],
    ['no cluster', { storage: s3 }, ['spec.clusterName: Required value']],
    ['no storage', { clusterName: 'demo' }, ['spec.storage: Required value']],
    [
      'two storages',
      { clusterName: 'demo', storage: { ...s3, gcs: { bucket: 'bbb' } } },
      ['spec.storage: must set exactly one of s3, gcs or volume'],
    ],
    [
      'empty storage',
      { clusterName: 'demo', storage: {} },
      ['spec.storage: must set exactly one of s3, gcs or volume'],
    ],
    ['unknown storage', { clusterName: 'demo', storage: { ftp: {} } }, ['spec.storage.ftp: unknown field']],
    [
      'bucket too short',
      { clusterName: 'demo', storage: { s3: { bucket: 'ab' } } },
      ['spec.storage.s3.bucket: must be at least 3 characters'],
    ],
    [
      'endpoint not a URL',
      { clusterName: 'demo', storage: { s3: { bucket: 'abc', endpoint: 'minio:9000' } } },
      ['spec.storage.s3.endpoint: must match the pattern ^https?://'],
    ],
    [
      'relative volume path',
      { clusterName: 'demo', storage: { volume: { claimName: 'c', path: 'snaps' } } },
      ['spec.storage.volume.path: must match the pattern ^/'],
    ],
    [
      'retention count 0',
      { clusterName: 'demo', schedule: '@daily', storage: s3, retention: { maxCount: 0 } },
      ['spec.retention.maxCount: must be >= 1'],
    ],
    [
      'retention age malformed',
      { clusterName: 'demo', schedule: '@daily', storage: s3, retention: { maxAge: '7d' } },
      ['spec.retention.maxAge: must be a duration such as 90s, 30m or 8760h'],
    ],
  ];
  for (const [name, spec, expected] of cases) t.same(errorsOf(manifest(spec)), expected, name);
});

t.test('semantic rules of a backup', async (t) => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    [
      'bad cluster name',
      { clusterName: 'Demo', storage: s3 },
      [
        'spec.clusterName: is not an EtcdCluster name: must consist of lower case alphanumeric characters or "-", start with a letter and end with an alphanumeric character',
      ],
    ],
    [
      'six-field cron',
      { clusterName: 'demo', schedule: '0 0 */6 * * *', storage: s3 },
      ['spec.schedule: must have 5 fields (minute hour day-of-month month day-of-week), not 6'],
    ],
    [
      'cron out of range',
      { clusterName: 'demo', schedule: '61 * * * *', storage: s3 },
      ['spec.schedule: is not a valid cron schedule: Constraint error, got value 61 expected range 0-59'],
    ],
    [
      'retention without schedule',
      { clusterName: 'demo', storage: s3, retention: { maxCount: 3 } },
      ['spec.retention: applies only to scheduled backups: set spec.schedule'],
    ],
  ];
  for (const [name, spec, expected] of cases) t.same(errorsOf(manifest(spec)), expected, name);
  t.same(parseEtcdBackup(manifest({ clusterName: 'demo', storage: s3, suspend: true })).warnings, [
    'spec.suspend: has no effect without spec.schedule',
  ]);
});

t.test('cronProblem accepts the forms Kubernetes CronJobs accept', async (t) => {
  for (const ok of ['*/5 * * * *', '0 3 * * 1-5', '@hourly', '@daily', '@weekly', '0 0 1 jan *']) {
    t.equal(cronProblem(ok), undefined, ok);
  }
  for (const bad of ['* * * *', 'every day', '@sometimes']) t.type(cronProblem(bad), 'string', bad);
});

t.test('backup update rules', async (t) => {
  const parse = (spec: Record<string, unknown>) => parseEtcdBackup(manifest(spec)).object;
  const scheduled = parse({ clusterName: 'demo', schedule: '@daily', storage: s3 });
  t.doesNotThrow(() =>
    validateEtcdBackupUpdate(scheduled, parse({ clusterName: 'demo', schedule: '@hourly', storage: s3 })),
  );
  t.doesNotThrow(() =>
    validateEtcdBackupUpdate(
      scheduled,
      parse({ clusterName: 'demo', schedule: '@daily', storage: { gcs: { bucket: 'other' } } }),
    ),
  );
  t.throws(
    () =>
      validateEtcdBackupUpdate(scheduled, parse({ clusterName: 'other', schedule: '@daily', storage: s3 })),
    {
      message: 'invalid EtcdBackup: spec.clusterName: is immutable',
    },
  );
  t.throws(() => validateEtcdBackupUpdate(scheduled, parse({ clusterName: 'demo', storage: s3 })), {
    message: /spec\.schedule: may be changed but not added to or removed/,
  });
});
