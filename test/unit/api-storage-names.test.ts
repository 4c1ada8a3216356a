import t from 'tap';
import { parseEtcdBackup, parseEtcdCluster } from '../../lib/api/index.js';
import { Problems } from '../../lib/api/problems.js';
import {
  checkStorageLocation,
  gcsBucketProblem,
  objectNameProblem,
  s3BucketProblem,
  secretKeyProblem,
} from '../../lib/api/storage-names.js';
import { ValidationError } from '../../lib/errors.js';

t.test('s3BucketProblem: the examples of the S3 naming rules', async (t) => {
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
  for (const ok of [
    'docexamplebucket1',
    'log-delivery-march-2020',
    'my-hosted-content',
    'docexamplewebsite.com',
    'www.docexamplewebsite.com',
    'my.example.s3.bucket',
    'example.com',
    'a1b2c3d4-5678-90ab-cdef-example11111',
    'abc',
    'a'.repeat(63),
    '1.2.3',
  ]) {
    t.equal(s3BucketProblem(ok), undefined, ok);
  }
  const cases: [string, string][] = [
    ['doc_example_bucket', 'must be lowercase letters, digits, dots and hyphens (no "_")'],
    ['DocExampleBucket', 'must be lowercase letters, digits, dots and hyphens (no "D")'],
    ['doc example bucket', 'must be lowercase letters, digits, dots and hyphens (no " ")'],
    ['doc-example-bucket-', 'must begin and end with a letter or digit (not "-")'],
    ['.docexample', 'must begin and end with a letter or digit (not ".")'],
    ['example..com', 'must not contain two adjacent dots ("..")'],
    ['192.168.5.4', 'must not be an IP address'],
    ['ab', 'must be 3 to 63 characters (not 2)'],
    ['a'.repeat(64), 'must be 3 to 63 characters (not 64)'],
    ['xn--bucket', 'must not begin with "xn--" (reserved by AWS)'],
    ['sthree-configurator', 'must not begin with "sthree-" (reserved by AWS)'],
    ['amzn-s3-demo-bucket', 'must not begin with "amzn-s3-demo-" (reserved by AWS)'],
    ['my-access-point-s3alias', 'must not end with "-s3alias" (reserved by AWS)'],
    ['my-lambda--ol-s3', 'must not end with "--ol-s3" (reserved by AWS)'],
    ['region.mrap', 'must not end with ".mrap" (reserved by AWS)'],
    ['bucket--usw2-az1--x-s3', 'must not end with "--x-s3" (reserved by AWS)'],
    ['tables--table-s3', 'must not end with "--table-s3" (reserved by AWS)'],
  ];
  for (const [name, problem] of cases) t.equal(s3BucketProblem(name), problem, name);
});

t.test('gcsBucketProblem: the examples of the Cloud Storage naming rules', async (t) => {
  // https://cloud.google.com/storage/docs/buckets#naming
  const dotted = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(30)].join('.');
  for (const ok of [
    'my-travel-maps',
    '0f75d593-8e7b-4418-a5ba-cb2970f0b91e',
    'test.example.com',
    'my_bucket',
    'abc',
    'a'.repeat(63),
    dotted,
  ]) {
    t.equal(gcsBucketProblem(ok), undefined, ok.slice(0, 40));
  }
  t.equal(dotted.length, 222, 'the dotted example is at the 222-character limit');
  const cases: [string, string][] = [
    ['My-Travel-Maps', 'must be lowercase letters, digits, dashes, underscores and dots (no "M")'],
    ['my_google_bucket', 'must not contain "google" (reserved by Google)'],
    ['my-g00gle-maps', 'must not contain "g00gle" (reserved by Google)'],
    ['test bucket', 'must be lowercase letters, digits, dashes, underscores and dots (no " ")'],
    ['goog-maps', 'must not begin with "goog" (reserved by Google)'],
    ['192.168.5.4', 'must not be an IP address'],
    ['_bucket', 'must begin and end with a letter or digit (not "_")'],
    ['bucket.', 'must begin and end with a letter or digit (not ".")'],
    ['ab', 'must be at least 3 characters (not 2)'],
    ['a'.repeat(64), 'must be at most 63 characters, or 222 with dots (not 64)'],
    [`${dotted}x`, 'must be at most 222 characters (not 223)'],
    [
      `${'a'.repeat(64)}.example.com`,
      'each dot-separated part must be at most 63 characters ("aaaaaaaaaaaa…" has 64)',
    ],
  ];
  for (const [name, problem] of cases) t.equal(gcsBucketProblem(name), problem, name.slice(0, 40));
});

t.test('objectNameProblem and secretKeyProblem: Kubernetes names and Secret keys', async (t) => {
  for (const ok of ['snapshots', 'etcd-backups', 'data.v1', 'a'])
    t.equal(objectNameProblem(ok), undefined, ok);
  const dns =
    'must consist of lower case alphanumeric characters, "-" or ".", and start and end with an alphanumeric character';
  const names: [string, string][] = [
    ['etcd_backups', `${dns} (not "_")`],
    ['Snapshots', `${dns} (not "S")`],
    ['-snapshots', `${dns} (not "-")`],
    ['a..b', dns],
    ['a'.repeat(254), 'must be no more than 253 characters'],
  ];
  for (const [name, problem] of names) t.equal(objectNameProblem(name), problem, name.slice(0, 40));

  for (const ok of ['credentials.json', 'key_file', 'Service-Account.JSON', '.hidden']) {
    t.equal(secretKeyProblem(ok), undefined, ok);
  }
  const keys: [string, string][] = [
    ['creds/key.json', 'must consist of alphanumeric characters, "-", "_" or "." (not "/")'],
    ['..data', 'must not be "." or "..", or start with ".."'],
    ['.', 'must not be "." or "..", or start with ".."'],
  ];
  for (const [key, problem] of keys) t.equal(secretKeyProblem(key), problem, key);
});

t.test('checkStorageLocation names the full path of each wrong field', async (t) => {
  const errorsOf = (location: Parameters<typeof checkStorageLocation>[0], path: string) => {
    const p = new Problems();
    checkStorageLocation(location, path, p);
    return p.errors.map((e) => `${e.field}: ${e.message}`);
  };
  t.same(
    errorsOf(
      { s3: { bucket: 'backups', forcePathStyle: false, credentialsSecret: { name: 's3-creds' } } },
      'spec.storage',
    ),
    [],
  );
  t.same(
    errorsOf(
      { s3: { bucket: 'My_Backups', forcePathStyle: false, credentialsSecret: { name: 'S3' } } },
      'spec.storage',
    ),
    [
      'spec.storage.s3.bucket: must be lowercase letters, digits, dots and hyphens (no "M")',
      'spec.storage.s3.credentialsSecret.name: must consist of lower case alphanumeric characters, "-" or ".", and start and end with an alphanumeric character (not "S")',
    ],
  );
  t.same(
    errorsOf({ gcs: { bucket: 'goog-x', credentialsSecret: { name: 'gcs_key', key: 'a/b' } } }, 'x.storage'),
    [
      'x.storage.gcs.bucket: must not begin with "goog" (reserved by Google)',
      'x.storage.gcs.credentialsSecret.name: must consist of lower case alphanumeric characters, "-" or ".", and start and end with an alphanumeric character (not "_")',
      'x.storage.gcs.credentialsSecret.key: must consist of alphanumeric characters, "-", "_" or "." (not "/")',
    ],
  );
  t.same(errorsOf({ volume: { claimName: 'snap shots', path: '/' } }, 'spec.storage'), [
    'spec.storage.volume.claimName: must consist of lower case alphanumeric characters, "-" or ".", and start and end with an alphanumeric character (not " ")',
  ]);
});

/** The message of the ValidationError that parsing throws, or undefined when it parses. */
function rejection(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return err.message;
  }
}

t.test('parseEtcdBackup rejects a bad bucket, claim or Secret name, naming the field', async (t) => {
  const backup = (storage: unknown) => () =>
    parseEtcdBackup({
      apiVersion: 'etcd.io/v1alpha1',
      kind: 'EtcdBackup',
      metadata: { name: 'nightly' },
      spec: { clusterName: 'demo', storage },
    });
  t.equal(rejection(backup({ s3: { bucket: 'etcd-backups' } })), undefined);
  t.match(
    rejection(backup({ s3: { bucket: 'etcd_backups' } })),
    /^invalid EtcdBackup: spec\.storage\.s3\.bucket: .*\(no "_"\)$/,
  );
  t.match(
    rejection(backup({ gcs: { bucket: 'my_google_bucket' } })),
    /^invalid EtcdBackup: spec\.storage\.gcs\.bucket: must not contain "google"/,
  );
  t.match(
    rejection(backup({ volume: { claimName: 'Snapshots' } })),
    /^invalid EtcdBackup: spec\.storage\.volume\.claimName: .*\(not "S"\)$/,
  );
  t.match(
    rejection(backup({ s3: { bucket: 'ok-bucket', credentialsSecret: { name: 's3_creds' } } })),
    /^invalid EtcdBackup: spec\.storage\.s3\.credentialsSecret\.name: /,
  );
});

t.test('parseEtcdCluster checks the storage of a restore source', async (t) => {
  const cluster = (storage: unknown) => () =>
    parseEtcdCluster({
      apiVersion: 'etcd.io/v1alpha1',
      kind: 'EtcdCluster',
      metadata: { name: 'demo' },
      spec: { bootstrap: { restore: { source: { path: 'snap.db', storage } } } },
    });
  t.equal(rejection(cluster({ volume: { claimName: 'snapshots' } })), undefined);
  t.match(
    rejection(cluster({ volume: { claimName: 'snap_shots' } })),
    /^invalid EtcdCluster: spec\.bootstrap\.restore\.source\.storage\.volume\.claimName: .*\(not "_"\)$/,
  );
  t.match(
    rejection(cluster({ s3: { bucket: '192.168.5.4' } })),
    /^invalid EtcdCluster: spec\.bootstrap\.restore\.source\.storage\.s3\.bucket: must not be an IP address$/,
  );
});
