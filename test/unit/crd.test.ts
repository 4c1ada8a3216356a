import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { structuralViolations, type JSONSchemaProps } from '../../lib/api/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; shortNames: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: unknown;
      additionalPrinterColumns: { name: string; jsonPath: string; priority?: number }[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }[];
  };
}
const load = (plural: string) =>
  parse(readFileSync(join(root, `generated/crds/etcd.io_${plural}.yaml`), 'utf8')) as Crd;
const clusters = load('etcdclusters');
const backups = load('etcdbackups');

t.test('the CRD manifests follow the structural-schema rules', async (t) => {
  for (const crd of [clusters, backups]) {
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
    t.same(structuralViolations(schema), [], crd.metadata.name);
  }
});

t.test('every field of every schema has a description', async (t) => {
  const missing: string[] = [];
  const walk = (node: JSONSchemaProps, path: string) => {
    if (path !== '' && path !== '.metadata' && typeof node.description !== 'string') missing.push(path);
    for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, JSONSchemaProps>))
      walk(v, `${path}.${k}`);
    if (node.items) walk(node.items as JSONSchemaProps, `${path}[]`);
  };
  for (const crd of [clusters, backups]) walk(crd.spec.versions[0]!.schema.openAPIV3Schema, '');
  t.same(missing, []);
});

t.test('EtcdCluster: names, scope, subresources and printer columns', async (t) => {
  const { spec } = clusters;
  t.equal(clusters.metadata.name, 'etcdclusters.etcd.io');
  t.equal(spec.group, 'etcd.io');
  t.equal(spec.scope, 'Namespaced');
  t.same(spec.names.shortNames, ['ec', 'etcdc']);
  t.equal(spec.names.kind, 'EtcdCluster');
  const version = spec.versions[0]!;
  t.equal(version.name, 'v1alpha1');
  t.ok(version.served && version.storage);
  t.same(version.subresources, {
    status: {},
    scale: {
      specReplicasPath: '.spec.size',
      statusReplicasPath: '.status.readyReplicas',
      labelSelectorPath: '.status.selector',
    },
  });
  const columns = version.additionalPrinterColumns.filter((c) => !c.priority);
  t.same(
    columns.map((c) => [c.name.toUpperCase(), c.jsonPath]),
    [
      ['SIZE', '.spec.size'],
      ['READY', '.status.readyReplicas'],
      ['PHASE', '.status.phase'],
      ['VERSION', '.status.currentVersion'],
      ['AGE', '.metadata.creationTimestamp'],
    ],
  );
});

t.test('EtcdBackup: names and subresources', async (t) => {
  t.equal(backups.metadata.name, 'etcdbackups.etcd.io');
  t.same(backups.spec.names.shortNames, ['eb', 'etcdb']);
  t.same(backups.spec.versions[0]!.subresources, { status: {} });
});

t.test('source-only annotations never reach a CRD', async (t) => {
  const text = JSON.stringify([clusters, backups]);
  t.notMatch(text, /x-ts-|x-message|\$ref/);
});

t.test('structuralViolations reports each rule it enforces', async (t) => {
  const cases: [string, JSONSchemaProps, RegExp][] = [
    ['root not an object', { type: 'string' }, /openAPIV3Schema\.type: must be object/],
    ['untyped field', { type: 'object', properties: { a: {} } }, /properties\[a\]\.type: must not be empty/],
    [
      'properties beside additionalProperties',
      { type: 'object', properties: { a: { type: 'object', properties: {}, additionalProperties: false } } },
      /mutually exclusive/,
    ],
    [
      'a $ref',
      { type: 'object', properties: { a: { $ref: '#/x', type: 'string' } } },
      /\$ref: is not supported/,
    ],
    [
      'uniqueItems',
      { type: 'object', properties: { a: { type: 'array', items: { type: 'string' }, uniqueItems: true } } },
      /uniqueItems/,
    ],
    [
      'type inside anyOf',
      { type: 'object', properties: { a: { type: 'string', anyOf: [{ type: 'string', pattern: 'x' }] } } },
      /anyOf\[0\]\.type: must be empty/,
    ],
    [
      'field only inside a junctor',
      {
        type: 'object',
        properties: { a: { type: 'object', oneOf: [{ properties: { b: { minLength: 1 } } }] } },
      },
      /oneOf\[0\]\.properties\[b\]: must be specified outside/,
    ],
    [
      'metadata restricted beyond name',
      {
        type: 'object',
        properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } },
      },
      /only name and generateName/,
    ],
    [
      'preserve-unknown false',
      {
        type: 'object',
        properties: { a: { type: 'object', 'x-kubernetes-preserve-unknown-fields': false } },
      },
      /must be true or undefined/,
    ],
  ];
  for (const [name, schema, expected] of cases)
    t.match(structuralViolations(schema).join('\n'), expected, name);
  t.same(
    structuralViolations({
      type: 'object',
      properties: {
        q: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      },
    }),
    [],
    'the int-or-string anyOf is allowed',
  );
});
