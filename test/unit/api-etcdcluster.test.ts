import t from 'tap';
import { parseEtcdCluster, validateEtcdClusterUpdate } from '../../lib/api/index.js';
import { ValidationError } from '../../lib/errors.js';

/** A minimal manifest with `spec` merged in. */
function manifest(spec?: Record<string, unknown>, name = 'demo'): Record<string, unknown> {
  return {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name },
    ...(spec === undefined ? {} : { spec }),
  };
}

/** The field errors of parsing `input`, as `field: message` lines; [] when it parses. */
function errorsOf(input: unknown): string[] {
  try {
    parseEtcdCluster(input);
    return [];
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return err.errors.map((e) => `${e.field}: ${e.message}`);
  }
}

function get(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

t.test('every default is applied to a manifest without a spec', async (t) => {
  const { object, warnings } = parseEtcdCluster(manifest());
  const defaults: [string, unknown][] = [
    ['spec.size', 3],
    ['spec.version', '3.5.9'],
    ['spec.repository', 'quay.io/coreos/etcd'],
    ['spec.paused', false],
    ['spec.storage.type', 'PersistentVolumeClaim'],
    ['spec.storage.size', '10Gi'],
    ['spec.storage.reclaimPolicy', 'Delete'],
    ['spec.security.tls.enabled', true],
    ['spec.security.tls.issuer', 'Operator'],
    ['spec.security.tls.certificateValidity', '8760h'],
    ['spec.security.tls.caValidity', '87600h'],
    ['spec.security.tls.renewBefore', '720h'],
    ['spec.etcd.autoCompactionMode', 'periodic'],
    ['spec.etcd.autoCompactionRetention', '1h'],
    ['spec.etcd.snapshotCount', 10000],
    ['spec.etcd.heartbeatIntervalMillis', 100],
    ['spec.etcd.electionTimeoutMillis', 1000],
  ];
  for (const [path, value] of defaults)
    t.same(get(object, path), value, `${path} defaults to ${String(value)}`);
  t.equal(
    get(object, 'spec.storage.storageClassName'),
    undefined,
    'no storage class: the cluster default applies',
  );
  t.equal(get(object, 'spec.etcd.quotaBackendBytes'), undefined, "no quota: etcd's own default applies");
  t.same(warnings, []);
});

t.test('defaults fill only what is absent; given values are kept', async (t) => {
  const { object } = parseEtcdCluster(
    manifest({ size: 5, storage: { size: '1Gi' }, security: { tls: { enabled: false } } }),
  );
  t.equal(object.spec.size, 5);
  t.equal(object.spec.storage.size, '1Gi');
  t.equal(object.spec.storage.reclaimPolicy, 'Delete', 'a sibling of a given field is still defaulted');
  t.equal(object.spec.security.tls.enabled, false);
  t.equal(object.spec.security.tls.issuer, 'Operator');
});

t.test('parsing does not modify its input', async (t) => {
  const input = manifest({ size: 1 });
  const before = JSON.stringify(input);
  parseEtcdCluster(input);
  t.equal(JSON.stringify(input), before);
});

t.test('bounds: each limit accepts its edge and refuses one past it', async (t) => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['size 1', { size: 1 }, []],
    ['size 9', { size: 9 }, []],
    ['size 0', { size: 0 }, ['spec.size: must be >= 1']],
    ['size 10', { size: 10 }, ['spec.size: must be <= 9']],
    ['size 12', { size: 12 }, ['spec.size: must be <= 9']],
    ['heartbeat 10ms', { etcd: { heartbeatIntervalMillis: 10, electionTimeoutMillis: 50 } }, []],
    [
      'heartbeat 9ms',
      { etcd: { heartbeatIntervalMillis: 9 } },
      ['spec.etcd.heartbeatIntervalMillis: must be >= 10'],
    ],
    [
      'election timeout 50001',
      { etcd: { electionTimeoutMillis: 50001 } },
      ['spec.etcd.electionTimeoutMillis: must be <= 50000'],
    ],
    ['snapshot count 0', { etcd: { snapshotCount: 0 } }, ['spec.etcd.snapshotCount: must be >= 1']],
    ['max request 64Mi', { etcd: { maxRequestBytes: 67108864 } }, []],
    [
      'max request 64Mi+1',
      { etcd: { maxRequestBytes: 67108865 } },
      ['spec.etcd.maxRequestBytes: must be <= 67108864'],
    ],
    ['repository empty', { repository: '' }, ['spec.repository: must not be empty']],
  ];
  for (const [name, spec, expected] of cases) t.same(errorsOf(manifest(spec)), expected, name);
});

t.test('bad types and unknown fields are refused with their field paths', async (t) => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['size as string', { size: 'three' }, ['spec.size: must be of type integer']],
    ['size fractional', { size: 2.5 }, ['spec.size: must be of type integer']],
    ['paused as string', { paused: 'yes' }, ['spec.paused: must be of type boolean']],
    ['unknown spec field', { sise: 3 }, ['spec.sise: unknown field']],
    ['unknown nested field', { storage: { class: 'fast' } }, ['spec.storage.class: unknown field']],
    [
      'storage size as object',
      { storage: { size: {} } },
      ['spec.storage.size: must be a quantity such as 10Gi, 512Mi or 2G'],
    ],
    [
      'storage size malformed',
      { storage: { size: '10GB' } },
      ['spec.storage.size: must be a quantity such as 10Gi, 512Mi or 2G'],
    ],
    ['version with v', { version: 'v3.5.9' }, ['spec.version: must be a version such as 3.5.9']],
    [
      'enum value',
      { storage: { reclaimPolicy: 'Keep' } },
      ['spec.storage.reclaimPolicy: must be one of "Delete", "Retain"'],
    ],
    [
      'duration malformed',
      { security: { tls: { certificateValidity: '1 year' } } },
      ['spec.security.tls.certificateValidity: must be a duration such as 90s, 30m or 8760h'],
    ],
    [
      'toleration operator',
      { pod: { tolerations: [{ operator: 'In' }] } },
      ['spec.pod.tolerations[0].operator: must be one of "Exists", "Equal"'],
    ],
    ['label value type', { pod: { labels: { team: 7 } } }, ['spec.pod.labels.team: must be of type string']],
    [
      'two errors at once',
      { size: 0, paused: 1 },
      ['spec.size: must be >= 1', 'spec.paused: must be of type boolean'],
    ],
  ];
  for (const [name, spec, expected] of cases) t.same(errorsOf(manifest(spec)).sort(), expected.sort(), name);
  t.same(errorsOf({ ...manifest(), status: { phase: 'Dancing' } }), [
    'status.phase: must be one of "Creating", "Running", "Scaling", "Upgrading", "Recovering", "Restoring", "Paused", "Failed", "Deleting"',
  ]);
  t.same(errorsOf({ ...manifest(), extra: true }), ['extra: unknown field']);
});

t.test('the resource itself must be an EtcdCluster', async (t) => {
  t.same(errorsOf(null), ['<root>: must be an object (a EtcdCluster manifest)']);
  t.same(errorsOf([]), ['<root>: must be an object (a EtcdCluster manifest)']);
  t.same(errorsOf({ ...manifest(), apiVersion: 'etcd.io/v1' }), ['apiVersion: must be etcd.io/v1alpha1']);
  t.same(errorsOf({ ...manifest(), kind: 'EtcdBackup' }), ['kind: must be EtcdCluster']);
});

t.test('semantic rules on creation', async (t) => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    [
      'etcd 3.3 is too old',
      { version: '3.3.25' },
      ['spec.version: etcd 3.3.25 is not supported: use 3.4.0 or later'],
    ],
    ['etcd 3.4.0 is fine', { version: '3.4.0' }, []],
    ['zero storage', { storage: { size: 0 } }, ['spec.storage.size: must be greater than 0']],
    [
      'quota above storage',
      { storage: { size: '1Gi' }, etcd: { quotaBackendBytes: '2Gi' } },
      [
        'spec.etcd.quotaBackendBytes: must not exceed spec.storage.size (1Gi): etcd would run out of disk before raising NOSPACE',
      ],
    ],
    ['quota equal to storage', { storage: { size: '2Gi' }, etcd: { quotaBackendBytes: '2Gi' } }, []],
    [
      'negative quota',
      { etcd: { quotaBackendBytes: -1 } },
      ['spec.etcd.quotaBackendBytes: must be a quantity such as 10Gi, 512Mi or 2G'],
    ],
    [
      'revision compaction needs a count',
      { etcd: { autoCompactionMode: 'revision', autoCompactionRetention: '1h' } },
      ['spec.etcd.autoCompactionRetention: must be a number of revisions with autoCompactionMode revision'],
    ],
    [
      'revision compaction with a count',
      { etcd: { autoCompactionMode: 'revision', autoCompactionRetention: '10000' } },
      [],
    ],
    [
      'election timeout under 5 heartbeats',
      { etcd: { heartbeatIntervalMillis: 300, electionTimeoutMillis: 1000 } },
      ['spec.etcd.electionTimeoutMillis: must be at least 5 times heartbeatIntervalMillis (1500)'],
    ],
    [
      'extra args the operator owns or types',
      {
        etcd: {
          extraArgs: {
            'listen-client-urls': 'x',
            'quota-backend-bytes': '1',
            '--debug': 'true',
            'log-level': 'debug',
          },
        },
      },
      [
        'spec.etcd.extraArgs.listen-client-urls: the operator sets this flag',
        'spec.etcd.extraArgs.quota-backend-bytes: set spec.etcd.quotaBackendBytes instead',
        'spec.etcd.extraArgs.--debug: must be a flag name without leading dashes',
      ],
    ],
    [
      'provided TLS without secrets',
      { security: { tls: { issuer: 'Provided' } } },
      ['spec.security.tls.secrets: Required value'],
    ],
    [
      'provided TLS with secrets',
      { security: { tls: { issuer: 'Provided', secrets: { peer: 'p', server: 's', client: 'c' } } } },
      [],
    ],
    [
      'secrets with operator-issued TLS',
      { security: { tls: { secrets: { peer: 'p', server: 's', client: 'c' } } } },
      ['spec.security.tls.secrets: only with enabled: true and issuer: Provided'],
    ],
    [
      'renewal not before expiry',
      { security: { tls: { certificateValidity: '24h', renewBefore: '24h' } } },
      ['spec.security.tls.renewBefore: must be shorter than certificateValidity'],
    ],
    [
      'certificates outliving their CA',
      { security: { tls: { certificateValidity: '20000h', caValidity: '10000h' } } },
      ['spec.security.tls.certificateValidity: must not exceed caValidity'],
    ],
    [
      'reserved pod label',
      { pod: { labels: { 'etcd.io/cluster': 'x' } } },
      ['spec.pod.labels.etcd.io/cluster: the operator owns labels under etcd.io/ and app.kubernetes.io/'],
    ],
    [
      'malformed pod label',
      { pod: { labels: { 'bad key!': 'x' } } },
      [
        'spec.pod.labels.bad key!: must be 63 characters or less, alphanumeric, "-", "_" or ".", starting and ending alphanumeric',
      ],
    ],
    [
      'both restore sources',
      {
        bootstrap: {
          restore: { backupName: 'b', source: { path: 'p', storage: { volume: { claimName: 'c' } } } },
        },
      },
      ['spec.bootstrap.restore: must set exactly one of backupName or source'],
    ],
  ];
  for (const [name, spec, expected] of cases) t.same(errorsOf(manifest(spec)).sort(), expected.sort(), name);
  t.same(errorsOf(manifest({}, 'Demo')), [
    'metadata.name: must consist of lower case alphanumeric characters or "-", start with a letter and end with an alphanumeric character',
  ]);
  t.same(errorsOf(manifest({}, 'a'.repeat(53))), ['metadata.name: must be no more than 52 characters']);
  t.same(errorsOf(manifest({}, 'a'.repeat(52))), []);
});

t.test('an even size parses with a warning', async (t) => {
  t.same(parseEtcdCluster(manifest({ size: 4 })).warnings, [
    'spec.size: 4 members tolerate no more failures than 3; prefer an odd size',
  ]);
  t.same(parseEtcdCluster(manifest({ size: 5 })).warnings, []);
  t.match(parseEtcdCluster(manifest({ etcd: { quotaBackendBytes: '9Gi' } })).warnings, [
    /etcd advises at most 8Gi/,
  ]);
});

t.test('update rules', async (t) => {
  const updateErrors = (before: Record<string, unknown>, after: Record<string, unknown>): string[] => {
    try {
      validateEtcdClusterUpdate(
        parseEtcdCluster(manifest(before)).object,
        parseEtcdCluster(manifest(after)).object,
      );
      return [];
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return err.errors.map((e) => `${e.field}: ${e.message}`);
    }
  };
  const cases: [string, Record<string, unknown>, Record<string, unknown>, string[]][] = [
    ['scale up', { size: 3 }, { size: 5 }, []],
    ['scale down', { size: 5 }, { size: 3 }, []],
    ['storage grows', { storage: { size: '10Gi' } }, { storage: { size: '20Gi' } }, []],
    ['storage grows across notations', { storage: { size: '1Gi' } }, { storage: { size: 1073741824 } }, []],
    [
      'storage shrinks',
      { storage: { size: '10Gi' } },
      { storage: { size: '5Gi' } },
      ['spec.storage.size: may not shrink (from 10Gi to 5Gi)'],
    ],
    ['storage type changes', {}, { storage: { type: 'EmptyDir' } }, ['spec.storage.type: is immutable']],
    [
      'storage class changes',
      { storage: { storageClassName: 'a' } },
      { storage: { storageClassName: 'b' } },
      ['spec.storage.storageClassName: is immutable'],
    ],
    ['patch upgrade', { version: '3.5.9' }, { version: '3.5.17' }, []],
    ['minor upgrade', { version: '3.5.17' }, { version: '3.6.0' }, []],
    [
      'minor skip',
      { version: '3.4.23' },
      { version: '3.6.0' },
      ['spec.version: cannot upgrade from 3.4.23 to 3.6.0 in one step: upgrade to 3.5 first'],
    ],
    [
      'major change',
      { version: '3.6.0' },
      { version: '4.0.0' },
      ['spec.version: cannot upgrade from 3.6.0 to 4.0.0 in one step: upgrade to 3.7 first'],
    ],
    [
      'patch downgrade',
      { version: '3.5.17' },
      { version: '3.5.9' },
      ['spec.version: may not be downgraded (from 3.5.17 to 3.5.9)'],
    ],
    [
      'minor downgrade',
      { version: '3.6.0' },
      { version: '3.5.17' },
      ['spec.version: may not be downgraded (from 3.6.0 to 3.5.17)'],
    ],
    [
      'TLS turned off',
      {},
      { security: { tls: { enabled: false } } },
      [
        'spec.security.tls.enabled: it is fixed at creation: back up the cluster and restore into a new one (docs/api.md#tls)',
      ],
    ],
    [
      'TLS issuer changed',
      {},
      { security: { tls: { issuer: 'Provided', secrets: { peer: 'p', server: 's', client: 'c' } } } },
      [
        'spec.security.tls.issuer: it is fixed at creation: back up the cluster and restore into a new one (docs/api.md#tls)',
      ],
    ],
    ['certificate validity changes', {}, { security: { tls: { certificateValidity: '4000h' } } }, []],
    [
      'bootstrap added later',
      {},
      { bootstrap: { restore: { backupName: 'b' } } },
      ['spec.bootstrap: is immutable: it only applies when the cluster is created'],
    ],
    ['paused', {}, { paused: true }, []],
    [
      'two violations at once',
      { version: '3.6.0', storage: { size: '2Gi' } },
      { version: '3.5.0', storage: { size: '1Gi' } },
      [
        'spec.storage.size: may not shrink (from 2Gi to 1Gi)',
        'spec.version: may not be downgraded (from 3.6.0 to 3.5.0)',
      ],
    ],
  ];
  for (const [name, before, after, expected] of cases)
    t.same(updateErrors(before, after).sort(), expected.sort(), name);
});

t.test('a ValidationError message lists every field error on one line', async (t) => {
  const err = t.throws(() => parseEtcdCluster(manifest({ size: 0, paused: 1 }))) as Error;
  t.equal(err.message, 'invalid EtcdCluster: spec.size: must be >= 1; spec.paused: must be of type boolean');
  t.notMatch(err.message, /\n/);
});
