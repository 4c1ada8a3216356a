/**
 * Turns a CRD's structural OpenAPI v3 schema into a JSON Schema that ajv validates the way the
 * Kubernetes API server does: objects with `properties` are closed (unknown fields are pruned or
 * rejected, depending on the ajv instance's `removeAdditional`), `x-kubernetes-*` extensions take
 * effect, `nullable` admits null and string formats become patterns.
 *
 * Used by the generator (for our own kinds) and by the sandbox API server (for any CRD).
 */

export type JSONSchemaProps = Record<string, unknown>;

/** Patterns for the string formats Kubernetes validates; other formats are informational. */
const FORMAT_PATTERNS: Record<string, string> = {
  'date-time':
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$',
  date: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
  byte: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
  uuid: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  ipv4: '^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$',
};

/** Keywords that mean nothing to ajv's validation and are dropped (ajv's strict mode refuses them). */
const DROPPED = new Set(['description', 'example', 'externalDocs', 'title', 'format', 'nullable']);

/** Fields every embedded or top-level resource may carry besides its declared ones. */
const RESOURCE_FIELDS: Record<string, JSONSchemaProps> = {
  apiVersion: { type: 'string' },
  kind: { type: 'string' },
  metadata: { type: 'object' },
};

export interface ToAjvOptions {
  /** The schema is a resource's root: apiVersion, kind and metadata are always allowed. */
  root?: boolean;
}

export function toAjvSchema(schema: JSONSchemaProps, options: ToAjvOptions = {}): JSONSchemaProps {
  return convert(schema, options.root ?? false);
}

function convert(node: JSONSchemaProps, isResource: boolean): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key) || (key.startsWith('x-kubernetes-') && key !== 'x-kubernetes-int-or-string')) {
      continue;
    }
    switch (key) {
      case 'properties':
        out.properties = mapValues(value as Record<string, JSONSchemaProps>, (p) => convert(p, false));
        break;
      case 'items':
      case 'not':
        out[key] = convert(value as JSONSchemaProps, false);
        break;
      case 'additionalProperties':
        out[key] = typeof value === 'object' && value ? convert(value as JSONSchemaProps, false) : value;
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[key] = (value as JSONSchemaProps[]).map((v) => convert(v, false));
        break;
      default:
        out[key] = value;
    }
  }
  // ajv's strict mode would refuse x-kubernetes-int-or-string; it only guides the type below.
  delete out['x-kubernetes-int-or-string'];

  const format = node.format;
  if (typeof format === 'string' && FORMAT_PATTERNS[format] && out.pattern === undefined) {
    out.pattern = FORMAT_PATTERNS[format];
  }
  if (node['x-kubernetes-int-or-string'] === true && out.anyOf === undefined) {
    out.type = ['integer', 'string'];
  }
  if (node['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;

  const embedded = node['x-kubernetes-embedded-resource'] === true;
  if (isResource || embedded) {
    out.properties = { ...RESOURCE_FIELDS, ...(out.properties as Record<string, JSONSchemaProps>) };
  }
  const open = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && !open && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  if (node.nullable === true && out.type !== undefined) {
    const types: unknown[] = Array.isArray(out.type) ? out.type : [out.type];
    out.type = [...types, 'null'];
  }
  return out;
}

function mapValues<T, U>(record: Record<string, T>, fn: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}
