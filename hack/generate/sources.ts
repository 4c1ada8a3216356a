/**
 * Reads the schema sources in schemas/: one file per kind plus common.yaml, whose definitions the
 * kinds reference with `$ref: common.yaml#/definitions/X`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { JSONSchemaProps } from '../../lib/api/openapi.js';

export { GROUP, VERSION } from '../../lib/api/group.js';

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindSource {
  file: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  scope: 'Namespaced' | 'Cluster';
  subresources: Record<string, unknown>;
  printerColumns: PrinterColumn[];
  schema: JSONSchemaProps;
}

export interface Sources {
  definitions: Record<string, JSONSchemaProps>;
  kinds: KindSource[];
}

const REF_PREFIX = 'common.yaml#/definitions/';

export function loadSources(dir: string): Sources {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  let definitions: Record<string, JSONSchemaProps> = {};
  const kinds: KindSource[] = [];
  for (const file of files) {
    const doc = parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    if (file === 'common.yaml') definitions = doc.definitions as Record<string, JSONSchemaProps>;
    else kinds.push({ ...(doc as Omit<KindSource, 'file'>), file });
  }
  return { definitions, kinds };
}

/** The name X of a `$ref: common.yaml#/definitions/X`, or undefined for any other node. */
export function refName(node: JSONSchemaProps): string | undefined {
  const ref = node.$ref;
  if (typeof ref !== 'string') return undefined;
  if (!ref.startsWith(REF_PREFIX)) throw new Error(`unsupported $ref ${ref}: only ${REF_PREFIX}X`);
  return ref.slice(REF_PREFIX.length);
}

/**
 * Applies `fn` to every schema node, bottom-up, returning a new tree. `fn` receives the node with its
 * children already transformed.
 */
export function mapSchema(
  node: JSONSchemaProps,
  fn: (n: JSONSchemaProps) => JSONSchemaProps,
): JSONSchemaProps {
  const out: JSONSchemaProps = { ...node };
  if (isRecord(node.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(node.properties).map(([k, v]) => [k, mapSchema(v as JSONSchemaProps, fn)]),
    );
  }
  if (isRecord(node.definitions)) {
    out.definitions = Object.fromEntries(
      Object.entries(node.definitions).map(([k, v]) => [k, mapSchema(v as JSONSchemaProps, fn)]),
    );
  }
  for (const key of ['items', 'additionalProperties', 'not'] as const) {
    if (isRecord(node[key])) out[key] = mapSchema(node[key], fn);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (Array.isArray(node[key])) out[key] = (node[key] as JSONSchemaProps[]).map((b) => mapSchema(b, fn));
  }
  return fn(out);
}

/** Replaces every common.yaml reference by the definition it names; keys beside the $ref win. */
export function inlineRefs(
  node: JSONSchemaProps,
  definitions: Record<string, JSONSchemaProps>,
): JSONSchemaProps {
  return mapSchema(node, (n) => {
    const name = refName(n);
    if (name === undefined) return n;
    const def = definitions[name];
    if (!def) throw new Error(`$ref to unknown definition ${name}`);
    const { $ref: _ref, ...siblings } = n;
    return { ...inlineRefs(def, definitions), ...siblings };
  });
}

/** Removes the source-only annotations (x-ts-*, x-message) that must never reach a CRD. */
export function stripAnnotations(
  node: JSONSchemaProps,
  keep: (key: string) => boolean = () => false,
): JSONSchemaProps {
  return mapSchema(node, (n) =>
    Object.fromEntries(
      Object.entries(n).filter(([k]) => keep(k) || !(k.startsWith('x-ts-') || k === 'x-message')),
    ),
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
