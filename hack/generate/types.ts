/**
 * TypeScript types from the schemas, through json-schema-to-typescript after a pre-pass that gives
 * Kubernetes' extensions their TypeScript meaning.
 *
 * The types describe objects as the API server stores them: a field with a schema default is always
 * present, so it is required here. Hand-written manifests are `unknown` until lib/api parses them.
 */
import { compile } from 'json-schema-to-typescript';
import { GROUP, VERSION, mapSchema, refName, type KindSource, type Sources } from './sources.js';
import type { JSONSchemaProps } from '../../lib/api/openapi.js';

const IMPORTS = [
  "import type { KubernetesObject, V1Affinity } from '@kubernetes/client-node';",
  "import type { ObjectMeta } from '../lib/api/wire.js';",
].join('\n');

export async function generateTypes(
  sources: Sources,
  banner: string,
  prettierOptions: object,
): Promise<string> {
  const definitions: Record<string, JSONSchemaProps> = {};
  for (const [name, def] of Object.entries(sources.definitions)) definitions[name] = prepare(def);
  for (const kind of sources.kinds) definitions[kind.kind] = prepare(rooted(kind));

  const root: JSONSchemaProps = {
    title: 'EtcdResource',
    description: 'Any resource of the etcd.io/v1alpha1 API.',
    anyOf: sources.kinds.map((k) => ({ $ref: `#/definitions/${k.kind}` })),
    definitions,
  };
  const code = await compile(root, 'EtcdResource', {
    bannerComment: `${banner}\n${IMPORTS}`,
    additionalProperties: false,
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    // A bounded array is a plain array in TypeScript; the bound is the CRD's to enforce.
    maxItems: -1,
    style: prettierOptions,
  });
  return code;
}

/**
 * The kind's root: named after the kind, with its spec and status types named after it too,
 * apiVersion and kind as literals, and metadata as the API server sends it (lib/api/wire.ts).
 */
function rooted(kind: KindSource): JSONSchemaProps {
  const props = kind.schema.properties as Record<string, JSONSchemaProps>;
  const named = (key: string, title: string) => (props[key] ? { [key]: { ...props[key], title } } : {});
  return {
    ...kind.schema,
    title: kind.kind,
    required: ['apiVersion', 'kind', 'metadata', ...((kind.schema.required as string[] | undefined) ?? [])],
    properties: {
      ...props,
      apiVersion: { ...props.apiVersion, 'x-ts-type': `'${GROUP}/${VERSION}'` },
      kind: { ...props.kind, 'x-ts-type': `'${kind.kind}'` },
      metadata: { 'x-ts-type': 'ObjectMeta' },
      ...named('spec', `${kind.kind}Spec`),
      ...named('status', `${kind.kind}Status`),
    },
  };
}

/** Marks a `$ref` that had a default beside it, for its parent to make the field required. */
const DEFAULTED = 'x-defaulted';

function prepare(schema: JSONSchemaProps): JSONSchemaProps {
  const marked = mapSchema(schema, prepareNode);
  return mapSchema(marked, ({ [DEFAULTED]: _, ...rest }) => rest);
}

// json2ts makes a new type for a $ref with keys beside it, so a reference carries nothing else.
function prepareNode(node: JSONSchemaProps): JSONSchemaProps {
  const name = refName(node);
  if (name !== undefined) {
    return { $ref: `#/definitions/${name}`, ...(node.default !== undefined ? { [DEFAULTED]: true } : {}) };
  }
  const out: JSONSchemaProps = {};
  for (const [k, v] of Object.entries(node)) {
    if (!k.startsWith('x-') && k !== 'anyOf') out[k] = v;
  }
  if (node.anyOf !== undefined && node['x-kubernetes-int-or-string'] !== true) out.anyOf = node.anyOf;
  if (typeof node['x-ts-name'] === 'string') out.title = node['x-ts-name'];

  const tsType = tsTypeOf(node);
  if (tsType !== undefined) {
    out.tsType = tsType;
    delete out.properties;
    delete out.type;
  }
  const props = node.properties as Record<string, JSONSchemaProps> | undefined;
  if (props && tsType === undefined) {
    const defaulted = Object.entries(props)
      .filter(([, p]) => p.default !== undefined || p[DEFAULTED] === true)
      .map(([k]) => k);
    const required = new Set([...((node.required as string[] | undefined) ?? []), ...defaulted]);
    if (required.size > 0) out.required = [...required];
    out.additionalProperties = false;
  }
  return out;
}

function tsTypeOf(node: JSONSchemaProps): string | undefined {
  if (typeof node['x-ts-type'] === 'string') return node['x-ts-type'];
  if (node['x-kubernetes-embedded-resource'] === true) return 'KubernetesObject';
  if (node['x-kubernetes-int-or-string'] === true) return 'number | string';
  if (node['x-kubernetes-preserve-unknown-fields'] === true && node.properties === undefined) {
    return '{ [key: string]: unknown }';
  }
  return undefined;
}
