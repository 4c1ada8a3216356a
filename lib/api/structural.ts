/**
 * The structural-schema rules the Kubernetes API server enforces on apiextensions.k8s.io/v1 CRDs
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema).
 * Returns one message per violation, each naming the schema path; an empty list means structural.
 */
import type { JSONSchemaProps } from './openapi.js';

const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'] as const;
const FORBIDDEN_IN_JUNCTORS = ['description', 'type', 'default', 'additionalProperties', 'nullable'];
const NOT_ALLOWED = ['$ref', 'definitions', 'dependencies', 'patternProperties', 'id', '$schema'];

export function structuralViolations(root: JSONSchemaProps): string[] {
  const out: string[] = [];
  if (root.type !== 'object') out.push('openAPIV3Schema.type: must be object');
  walk(root, 'openAPIV3Schema', out, true);
  return out;
}

function walk(node: JSONSchemaProps, path: string, out: string[], isRoot = false): void {
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type === undefined && !intOrString && !preserve) {
    out.push(`${path}.type: must not be empty for specified fields`);
  }
  for (const key of NOT_ALLOWED) {
    if (key in node) out.push(`${path}.${key}: is not supported`);
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    out.push(`${path}: additionalProperties and properties are mutually exclusive`);
  }
  if (node['x-kubernetes-preserve-unknown-fields'] === false) {
    out.push(`${path}.x-kubernetes-preserve-unknown-fields: must be true or undefined`);
  }
  if (node.uniqueItems === true) out.push(`${path}.uniqueItems: cannot be set to true`);
  if (node['x-kubernetes-embedded-resource'] === true) {
    if (node.type !== 'object')
      out.push(`${path}.type: must be object if x-kubernetes-embedded-resource is true`);
    if (node.properties === undefined && !preserve) {
      out.push(
        `${path}.properties: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields`,
      );
    }
  }

  const properties = node.properties as Record<string, JSONSchemaProps> | undefined;
  if (isRoot && properties?.metadata) checkMetadata(properties.metadata, `${path}.properties[metadata]`, out);
  for (const [name, child] of Object.entries(properties ?? {})) {
    if (isRoot && name === 'metadata') continue;
    walk(child, `${path}.properties[${name}]`, out);
  }
  if (isSchema(node.additionalProperties))
    walk(node.additionalProperties, `${path}.additionalProperties`, out);
  if (isSchema(node.items)) walk(node.items, `${path}.items`, out);

  for (const junctor of JUNCTORS) {
    const branches = node[junctor];
    if (branches === undefined) continue;
    const list = Array.isArray(branches) ? (branches as JSONSchemaProps[]) : [branches as JSONSchemaProps];
    list.forEach((branch, i) => {
      const at = Array.isArray(branches) ? `${path}.${junctor}[${i}]` : `${path}.${junctor}`;
      checkJunctorBranch(branch, node, at, out, intOrString && junctor === 'anyOf');
    });
  }
}

/** Inside a junctor, only value validations of fields that the enclosing schema also declares. */
function checkJunctorBranch(
  branch: JSONSchemaProps,
  outer: JSONSchemaProps,
  path: string,
  out: string[],
  intOrStringAnyOf: boolean,
): void {
  for (const key of FORBIDDEN_IN_JUNCTORS) {
    if (!(key in branch)) continue;
    // The one exception: `anyOf: [{type: integer}, {type: string}]` under x-kubernetes-int-or-string.
    if (key === 'type' && intOrStringAnyOf && (branch.type === 'integer' || branch.type === 'string'))
      continue;
    out.push(`${path}.${key}: must be empty inside of allOf, anyOf, oneOf and not`);
  }
  const outerProps = (outer.properties ?? {}) as Record<string, JSONSchemaProps>;
  for (const name of Object.keys(branch.properties ?? {})) {
    if (!(name in outerProps))
      out.push(`${path}.properties[${name}]: must be specified outside of the junctor`);
  }
  if (branch.items !== undefined && outer.items === undefined) {
    out.push(`${path}.items: must be specified outside of the junctor`);
  }
}

function checkMetadata(meta: JSONSchemaProps, path: string, out: string[]): void {
  if (meta.type !== 'object') out.push(`${path}.type: must be object`);
  const props = Object.keys(meta.properties ?? {});
  for (const name of props) {
    if (name !== 'name' && name !== 'generateName') {
      out.push(`${path}.properties[${name}]: only name and generateName may be restricted`);
    }
  }
  for (const key of Object.keys(meta)) {
    if (!['type', 'properties', 'description'].includes(key)) {
      out.push(`${path}.${key}: must not be set on metadata`);
    }
  }
}

function isSchema(value: unknown): value is JSONSchemaProps {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
