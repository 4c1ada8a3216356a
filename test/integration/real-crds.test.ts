/**
 * The generated CRDs against a real kube-apiserver: it accepts them, stores the defaults lib/api
 * computes, and rejects invalid objects on the fields lib/api names; the sandbox API server gives
 * the same answers. Where they differ the difference is asserted as it is, so a change on any side
 * shows here (sandbox/README.md lists them).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { parseEtcdBackup, parseEtcdCluster, validateEtcdClusterUpdate } from '../../lib/api/index.js';
import { ValidationError, type FieldError } from '../../lib/errors.js';
import { crds } from '../../generated/crds.js';
import { startApiServer } from '../../sandbox/index.js';
import { installCrd, request, startRealApiServer, type RawResponse } from '../../sandbox/real/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const crdDir = join(root, 'generated/crds');

const server = await startRealApiServer({ controllers: [] });
t.teardown(() => server.stop());
const admin = server.token();
const sandbox = await startApiServer({ crds });
t.teardown(() => sandbox.stop());
const targets = {
  real: { url: server.url, caCert: server.caCert, token: admin },
  sandbox: { url: sandbox.url, caCert: sandbox.caCert, token: sandbox.token() },
};

type Kind = 'EtcdCluster' | 'EtcdBackup';
const PATHS: Record<Kind, string> = {
  EtcdCluster: '/apis/etcd.io/v1alpha1/namespaces/default/etcdclusters',
  EtcdBackup: '/apis/etcd.io/v1alpha1/namespaces/default/etcdbackups',
};
const PARSE: Record<Kind, (input: unknown) => { object: { spec: unknown } }> = {
  EtcdCluster: parseEtcdCluster,
  EtcdBackup: parseEtcdBackup,
};

let serial = 0;
/** A manifest with a fresh name, so that every case creates its own object. */
function manifest(kind: Kind, spec?: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'etcd.io/v1alpha1',
    kind,
    metadata: { name: `${kind.toLowerCase()}-${++serial}` },
    ...(spec === undefined ? {} : { spec }),
    ...extra,
  };
}
const cluster = (spec?: unknown) => manifest('EtcdCluster', spec);
const backup = (spec?: unknown) => manifest('EtcdBackup', spec);

/** Creates `body` on the real server, or on the sandbox. */
function create(
  body: Record<string, unknown>,
  fieldValidation = 'Strict',
  on: 'real' | 'sandbox' = 'real',
): Promise<RawResponse> {
  const query = fieldValidation === '' ? '' : `?fieldValidation=${fieldValidation}`;
  const { url, caCert, token } = targets[on];
  return request(url, caCert, { method: 'POST', path: PATHS[body.kind as Kind] + query, token, body });
}
const inSandbox = (body: Record<string, unknown>, fieldValidation = 'Strict') =>
  create(body, fieldValidation, 'sandbox');
const fieldsAndReasons = (causes: readonly { field: string; reason: string }[]) =>
  causes.map(({ field, reason }) => ({ field, reason })).sort(byField);

/** lib/api's field errors for `input`; [] when it parses. */
function libErrors(kind: Kind, input: unknown): FieldError[] {
  try {
    PARSE[kind](input);
    return [];
  } catch (err) {
    if (err instanceof ValidationError) return [...err.errors];
    throw err;
  }
}

interface Cause {
  field: string;
  reason: string;
  message: string;
}
const causesOf = (res: RawResponse): Cause[] =>
  (res.body as { details?: { causes?: Cause[] } }).details?.causes ?? [];
const byField = (a: { field: string }, b: { field: string }) => a.field.localeCompare(b.field);

t.test('the real API server accepts the generated CRDs as they are', async (t) => {
  const files = readdirSync(crdDir).filter((f) => f.endsWith('.yaml'));
  t.same(files.sort(), ['etcd.io_etcdbackups.yaml', 'etcd.io_etcdclusters.yaml']);
  for (const file of files) {
    const crd = parse(readFileSync(join(crdDir, file), 'utf8')) as {
      metadata: { name: string };
      spec: { names: Record<string, unknown>; versions: { schema: unknown }[] };
    };
    const created = await installCrd(server.url, server.caCert, admin, crd);
    t.equal(created.status, 201, `${file} is created`);
    t.equal(created.headers.warning, undefined, `${file} draws no warning`);

    const stored = await request(server.url, server.caCert, {
      path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      token: admin,
    });
    const { spec, status } = stored.body as {
      spec: { versions: { schema: unknown }[] };
      status: { conditions: { type: string; status: string }[]; acceptedNames: Record<string, unknown> };
    };
    const conditions = Object.fromEntries(status.conditions.map((c) => [c.type, c.status]));
    t.equal(conditions.NamesAccepted, 'True', `${file}: names accepted`);
    t.equal(conditions.Established, 'True', `${file}: established`);
    t.equal(conditions.NonStructuralSchema, undefined, `${file}: structural schema`);
    t.strictSame(status.acceptedNames, { ...crd.spec.names, listKind: `${String(crd.spec.names.kind)}List` });
    t.strictSame(spec.versions[0]?.schema, crd.spec.versions[0]?.schema, `${file}: schema stored unchanged`);
  }
});

t.test('stored objects carry exactly the defaults lib/api applies', async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['EtcdCluster without spec', cluster()],
    ['EtcdCluster with an empty spec', cluster({})],
    [
      'EtcdCluster with partial nested objects',
      cluster({ size: 5, storage: { size: '1Gi' }, security: { tls: { enabled: false } } }),
    ],
    ['EtcdCluster with an integer quantity', cluster({ storage: { size: 1073741824 } })],
    [
      'EtcdCluster restoring from a volume',
      cluster({
        bootstrap: { restore: { source: { path: 'snap.db', storage: { volume: { claimName: 'snaps' } } } } },
      }),
    ],
    [
      'EtcdCluster with pod options',
      cluster({ pod: { labels: { team: 'db' }, tolerations: [{ operator: 'Exists' }] } }),
    ],
    ['EtcdBackup to a volume', backup({ clusterName: 'demo', storage: { volume: { claimName: 'snaps' } } })],
    ['EtcdBackup to S3', backup({ clusterName: 'demo', storage: { s3: { bucket: 'snaps' } } })],
    [
      'scheduled EtcdBackup to GCS',
      backup({
        clusterName: 'demo',
        schedule: '0 * * * *',
        storage: { gcs: { bucket: 'snaps' } },
        retention: { maxCount: 3 },
      }),
    ],
  ];
  for (const [name, input] of cases) {
    const res = await create(input);
    t.equal(res.status, 201, `${name}: created`);
    const expected = PARSE[input.kind as Kind](input).object.spec;
    t.strictSame((res.body as { spec: unknown }).spec, expected, `${name}: same spec`);
    const emulated = await inSandbox(input);
    t.strictSame((emulated.body as { spec: unknown }).spec, expected, `${name}: the sandbox stores the same`);
  }
});

t.test('invalid objects are rejected on the fields lib/api names', async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['size above the maximum', cluster({ size: 12 })],
    ['size below the minimum', cluster({ size: 0 })],
    ['a value outside an enum', cluster({ storage: { type: 'HostPath' } })],
    ['a version that misses the pattern', cluster({ version: 'v3.5' })],
    ['a quantity that misses the pattern', cluster({ storage: { size: '10 GB' } })],
    ['a duration that misses the pattern', cluster({ security: { tls: { renewBefore: '30 days' } } })],
    ['an empty string where one character is the minimum', cluster({ repository: '' })],
    ['a string where a boolean belongs', cluster({ paused: 'yes' })],
    [
      'several wrong fields at once',
      cluster({ size: 10, version: '3.5', storage: { reclaimPolicy: 'Keep' } }),
    ],
    ['EtcdBackup without spec', backup()],
    ['EtcdBackup missing required fields', backup({ storage: { volume: {} } })],
    [
      'EtcdBackup retention out of range',
      backup({ clusterName: 'a', storage: { volume: { claimName: 'v' } }, retention: { maxCount: 0 } }),
    ],
  ];
  for (const [name, input] of cases) {
    const res = await create(input);
    t.equal(res.status, 422, `${name}: 422`);
    t.equal((res.body as { reason?: string }).reason, 'Invalid', `${name}: reason Invalid`);
    const real = fieldsAndReasons(causesOf(res));
    t.strictSame(
      real,
      fieldsAndReasons(libErrors(input.kind as Kind, input)),
      `${name}: same fields and reasons`,
    );
    const emulated = await inSandbox(input);
    t.strictSame(
      [emulated.status, fieldsAndReasons(causesOf(emulated))],
      [422, real],
      `${name}: the sandbox answers the same`,
    );
  }
});

t.test('with fieldValidation=Strict an unknown field is a 400 naming its path, not a 422', async (t) => {
  for (const [input, path] of [
    [cluster({ sizes: 3 }), 'spec.sizes'],
    [cluster({ storage: { class: 'fast' } }), 'spec.storage.class'],
    [{ ...cluster({}), extra: true }, 'extra'],
  ] as const) {
    for (const res of [await create(input), await inSandbox(input)]) {
      t.equal(res.status, 400);
      t.equal((res.body as { reason?: string }).reason, 'BadRequest');
      t.match((res.body as { message?: string }).message, `strict decoding error: unknown field "${path}"`);
    }
    t.strictSame(
      libErrors('EtcdCluster', input).map((e) => [e.field, e.reason]),
      [[path, 'FieldValueUnknown']],
    );
  }
});

t.test('differences between the real server, lib/api and the sandbox', async (t) => {
  t.test('an unknown field stops both servers before schema validation', async (t) => {
    const input = cluster({ size: 12, bogus: 1 });
    for (const res of [await create(input), await inSandbox(input)]) {
      t.equal(res.status, 400);
      t.match((res.body as { message: string }).message, 'unknown field "spec.bogus"');
      t.notMatch((res.body as { message: string }).message, 'spec.size', 'spec.size is not reported');
    }
    t.strictSame(
      libErrors('EtcdCluster', input)
        .map((e) => e.field)
        .sort(),
      ['spec.bogus', 'spec.size'],
    );
  });

  t.test(
    'without fieldValidation unknown fields are dropped with a warning; lib/api rejects them',
    async (t) => {
      const input = cluster({ bogus: 1 });
      for (const res of [await create(input, ''), await inSandbox(input, '')]) {
        t.equal(res.status, 201);
        t.equal(res.headers.warning, '299 - "unknown field \\"spec.bogus\\""');
        t.notOk('bogus' in (res.body as { spec: object }).spec, 'pruned');
      }
      t.strictSame(
        libErrors('EtcdCluster', input).map((e) => e.reason),
        ['FieldValueUnknown'],
      );
    },
  );

  t.test(
    'null for a defaulted field is pruned and defaulted; lib/api and the sandbox say it has the wrong type',
    async (t) => {
      for (const [input, field] of [
        [cluster(null), 'spec'],
        [cluster({ storage: null }), 'spec.storage'],
        [cluster({ size: null }), 'spec.size'],
      ] as const) {
        const res = await create(input);
        t.equal(res.status, 201, `${field}: null accepted`);
        t.strictSame(
          (res.body as { spec: unknown }).spec,
          PARSE.EtcdCluster(cluster()).object.spec,
          `${field}: defaulted`,
        );
        const type = field === 'spec.size' ? 'integer' : 'object';
        t.strictSame(libErrors('EtcdCluster', input), [
          { field, reason: 'FieldValueTypeInvalid', message: `must be of type ${type}` },
        ]);
        const emulated = await inSandbox(input);
        t.equal(emulated.status, 422, `${field}: the sandbox refuses it`);
        t.strictSame(fieldsAndReasons(causesOf(emulated)), [{ field, reason: 'FieldValueTypeInvalid' }]);
      }
    },
  );

  t.test('an unknown metadata field is refused by both servers, not by lib/api', async (t) => {
    const input = manifest('EtcdCluster', {}, {});
    (input.metadata as Record<string, unknown>).owner = 'me';
    for (const res of [await create(input), await inSandbox(input)]) {
      t.equal(res.status, 400);
      t.match((res.body as { message: string }).message, 'unknown field "metadata.owner"');
    }
    t.strictSame(libErrors('EtcdCluster', input), []);
  });

  t.test('more than one storage location: FieldValueTooMany on both servers', async (t) => {
    const input = backup({
      clusterName: 'a',
      storage: { volume: { claimName: 'v' }, s3: { bucket: 'abc' } },
    });
    const res = await create(input);
    t.equal(res.status, 422);
    t.strictSame(causesOf(res), [
      {
        field: 'spec.storage',
        reason: 'FieldValueTooMany',
        message: 'Too many: 2: must have at most 1 item',
      },
    ]);
    t.strictSame(libErrors('EtcdBackup', input), [
      {
        field: 'spec.storage',
        reason: 'FieldValueInvalid',
        message: 'must set exactly one of s3, gcs or volume',
      },
    ]);
    t.strictSame(causesOf(await inSandbox(input)), causesOf(res), 'the sandbox answers the same');
  });

  t.test('a wrongly typed spec.size also fails the scale subresource on the real server', async (t) => {
    const input = cluster({ size: 'three' });
    const res = await create(input);
    t.equal(res.status, 422);
    t.strictSame(
      causesOf(res).map(({ field, reason }) => [field, reason]),
      [
        ['spec.size', 'FieldValueTypeInvalid'],
        ['.spec.size', 'FieldValueInvalid'],
      ],
    );
    for (const causes of [libErrors('EtcdCluster', input), causesOf(await inSandbox(input))]) {
      t.strictSame(
        causes.map((e) => [e.field, e.reason]),
        [['spec.size', 'FieldValueTypeInvalid']],
        'lib/api and the sandbox: the type only',
      );
    }
  });

  t.test('the servers word messages alike, lib/api its own way', async (t) => {
    const input = cluster({ size: 12, version: 'v3.5', storage: { type: 'HostPath' }, repository: '' });
    const real = causesOf(await create(input))
      .sort(byField)
      .map((c) => `${c.field}: ${c.message}`);
    const emulated = causesOf(await inSandbox(input))
      .sort(byField)
      .map((c) => `${c.field}: ${c.message}`);
    t.strictSame(emulated, real, 'the sandbox words them as the real server');
    const lib = libErrors('EtcdCluster', input)
      .sort(byField)
      .map((e) => `${e.field}: ${e.message}`);
    t.strictSame(real, [
      'spec.repository: Invalid value: "": spec.repository in body should be at least 1 chars long',
      'spec.size: Invalid value: 12: spec.size in body should be less than or equal to 9',
      'spec.storage.type: Unsupported value: "HostPath": supported values: "PersistentVolumeClaim", "EmptyDir"',
      'spec.version: Invalid value: "v3.5": spec.version in body should match \'^[0-9]+\\.[0-9]+\\.[0-9]+$\'',
    ]);
    t.strictSame(lib, [
      'spec.repository: must not be empty',
      'spec.size: must be <= 9',
      'spec.storage.type: must be one of "PersistentVolumeClaim", "EmptyDir"',
      'spec.version: must be a version such as 3.5.9',
    ]);
  });
});

t.test("the real server does not run lib/api's semantic rules; the sandbox does (admission)", async (t) => {
  t.test('on create', async (t) => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'a name too long for member Pod names',
        { ...cluster({}), metadata: { name: 'x'.repeat(60) } },
        'metadata.name',
      ],
      ['an etcd older than 3.4', cluster({ version: '3.3.25' }), 'spec.version'],
      [
        'an election timeout under five heartbeats',
        cluster({ etcd: { heartbeatIntervalMillis: 100, electionTimeoutMillis: 200 } }),
        'spec.etcd.electionTimeoutMillis',
      ],
      [
        'a flag the operator owns in extraArgs',
        cluster({ etcd: { extraArgs: { 'data-dir': '/tmp' } } }),
        'spec.etcd.extraArgs.data-dir',
      ],
      [
        'issuer Provided without secrets',
        cluster({ security: { tls: { issuer: 'Provided' } } }),
        'spec.security.tls.secrets',
      ],
      [
        'a quota above the volume size',
        cluster({ storage: { size: '1Gi' }, etcd: { quotaBackendBytes: '2Gi' } }),
        'spec.etcd.quotaBackendBytes',
      ],
      [
        'a backup schedule that is not cron',
        backup({ clusterName: 'a', schedule: 'every hour', storage: { volume: { claimName: 'v' } } }),
        'spec.schedule',
      ],
      [
        'retention without a schedule',
        backup({ clusterName: 'a', storage: { volume: { claimName: 'v' } }, retention: { maxCount: 2 } }),
        'spec.retention',
      ],
    ];
    for (const [name, input, field] of cases) {
      t.equal((await create(input)).status, 201, `${name}: the real server stores it`);
      t.strictSame(
        libErrors(input.kind as Kind, input).map((e) => e.field),
        [field],
        `${name}: lib/api refuses ${field}`,
      );
      const emulated = await inSandbox(input);
      t.strictSame(
        [emulated.status, causesOf(emulated).map((c) => c.field)],
        [422, [field]],
        `${name}: the sandbox refuses ${field}`,
      );
    }
  });

  t.test('on update', async (t) => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
      ['shrinking storage', { storage: { size: '10Gi' } }, { storage: { size: '1Gi' } }, 'spec.storage.size'],
      ['skipping a minor version', { version: '3.4.30' }, { version: '3.6.0' }, 'spec.version'],
      ['downgrading', { version: '3.5.9' }, { version: '3.4.30' }, 'spec.version'],
      ['turning TLS off', {}, { security: { tls: { enabled: false } } }, 'spec.security.tls.enabled'],
    ];
    for (const [name, before, patch, field] of cases) {
      const input = cluster(before);
      const [real, emulated] = [
        await createThenPatch(input, patch, 'real'),
        await createThenPatch(input, patch, 'sandbox'),
      ];
      t.equal(real.status, 200, `${name}: the real server stores it`);
      const previous = parseEtcdCluster(input).object;
      const next = parseEtcdCluster({ ...input, spec: (real.body as { spec: unknown }).spec }).object;
      t.throws(
        () => validateEtcdClusterUpdate(previous, next),
        { errors: [{ field }] },
        `${name}: lib/api refuses ${field}`,
      );
      t.strictSame(
        [emulated.status, causesOf(emulated).map((c) => c.field)],
        [422, [field]],
        `${name}: the sandbox refuses ${field}`,
      );
    }
  });
});

/** Creates `input` on a server, then merge-patches its spec with `patch`; the answer to the patch. */
async function createThenPatch(
  input: Record<string, unknown>,
  patch: unknown,
  on: 'real' | 'sandbox',
): Promise<RawResponse> {
  const created = await create(input, 'Strict', on);
  const { name } = (created.body as { metadata: { name: string } }).metadata;
  const { url, caCert, token } = targets[on];
  return request(url, caCert, {
    method: 'PATCH',
    path: `${PATHS.EtcdCluster}/${name}?fieldValidation=Strict`,
    token,
    contentType: 'application/merge-patch+json',
    body: { spec: patch },
  });
}
