/**
 * A custom resource's schema as the real server applies it: defaults, pruning of unknown fields
 * (or, with fieldValidation=Strict, refusing them), and field errors worded as kube-openapi and
 * apimachinery word them (`spec.size: Invalid value: 12: spec.size in body should be less than or
 * equal to 9`).
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { fieldPath, newAjv, toAjvSchema, type JSONSchemaProps } from '../../lib/api/index.js';
import type { FieldError } from '../../lib/errors.js';
import type { StatusCause } from './status.js';
import type { KubeObject } from './types.js';

export type Cause = Required<StatusCause>;

export interface SchemaResult {
  causes: Cause[];
  /** Unknown fields found (and pruned), as `spec.foo`. */
  unknown: string[];
}

export interface CustomSchema {
  /** Defaults and prunes `object` in place; returns the field errors and the unknown fields. */
  apply(object: KubeObject): SchemaResult;
}

const pruning = newAjv({ removeAdditional: true, strict: false });
const detecting = newAjv({ useDefaults: false, strict: false });

const join = (parent: string, child: string) => (parent === '<root>' ? child : `${parent}.${child}`);

export function compileSchema(openAPIV3Schema: JSONSchemaProps): CustomSchema {
  const schema = toAjvSchema(openAPIV3Schema, { root: true });
  const prune: ValidateFunction = pruning.compile(structuredClone(schema));
  const detect: ValidateFunction = detecting.compile(structuredClone(schema));
  return {
    apply(object) {
      const { metadata, ...rest } = object;
      detect({ ...rest, metadata: {} });
      const unknown = (detect.errors ?? [])
        .filter((e) => e.keyword === 'additionalProperties')
        .map((e) => join(fieldPath(e.instancePath), String(e.params.additionalProperty)));
      const body: Record<string, unknown> = { ...rest, metadata: {} };
      const causes = prune(body) ? [] : schemaCauses(prune.errors ?? [], body);
      for (const key of Object.keys(object)) if (key !== 'metadata') delete object[key];
      Object.assign(object, body, { metadata });
      return { causes, unknown };
    },
  };
}

/** The value at a field path such as `spec.members[0].name`. */
function valueAt(object: unknown, field: string): unknown {
  let node: unknown = object;
  for (const seg of field.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

/** How apimachinery's field errors print a value. */
function show(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? '"array"' : '"object"';
  return JSON.stringify(value);
}

/** The JSON type name kube-openapi reports for a value. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** ajv errors → Status causes, as the real server reports schema violations of a custom resource. */
export function schemaCauses(errors: readonly ErrorObject[], object: unknown): Cause[] {
  // A failed anyOf (int-or-string) also reports each branch; the anyOf error alone says it.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  return errors
    .filter((e) => e.keyword !== 'additionalProperties')
    .filter(
      (e) => e.keyword === 'anyOf' || !anyOfPaths.has(e.instancePath) || !e.schemaPath.includes('/anyOf/'),
    )
    .map((e) => schemaCause(e, object));
}

function schemaCause(e: ErrorObject, object: unknown): Cause {
  const field = fieldPath(e.instancePath);
  const value = valueAt(object, field);
  const p = e.params as Record<string, unknown>;
  const limit = String(p.limit);
  const cause = (reason: string, message: string, at = field): Cause => ({ reason, message, field: at });
  const invalid = (detail: string) =>
    cause('FieldValueInvalid', `Invalid value: ${show(value)}: ${field} in body ${detail}`);
  const typeInvalid = (types: string) =>
    cause(
      'FieldValueTypeInvalid',
      `Invalid value: "${typeName(value)}": ${field} in body must be of type ${types}: "${typeName(value)}"`,
    );
  switch (e.keyword) {
    case 'required':
      return cause('FieldValueRequired', 'Required value', join(field, String(p.missingProperty)));
    case 'enum': {
      const supported = (p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return cause(
        'FieldValueNotSupported',
        `Unsupported value: ${show(value)}: supported values: ${supported}`,
      );
    }
    case 'type':
      return typeInvalid(Array.isArray(p.type) ? p.type.join(',') : String(p.type));
    case 'anyOf':
      return typeInvalid('integer,string');
    case 'maxLength':
      return cause('FieldValueTooLong', `Too long: may not be more than ${limit} bytes`);
    case 'maxItems':
    case 'maxProperties': {
      const size = Array.isArray(value) ? value.length : Object.keys(value ?? {}).length;
      return cause(
        'FieldValueTooMany',
        `Too many: ${size}: must have at most ${limit} item${limit === '1' ? '' : 's'}`,
      );
    }
    default:
      return invalid(DETAILS[e.keyword]?.(p) ?? e.message ?? 'is invalid');
  }
}

/** kube-openapi's wording of the other keyword failures, after `<field> in body`. */
const DETAILS: Record<string, (p: Record<string, unknown>) => string> = {
  maximum: (p) => `should be less than or equal to ${String(p.limit)}`,
  exclusiveMaximum: (p) => `should be less than ${String(p.limit)}`,
  minimum: (p) => `should be greater than or equal to ${String(p.limit)}`,
  exclusiveMinimum: (p) => `should be greater than ${String(p.limit)}`,
  pattern: (p) => `should match '${String(p.pattern)}'`,
  minLength: (p) => `should be at least ${String(p.limit)} chars long`,
  minItems: (p) => `should have at least ${String(p.limit)} items`,
  minProperties: (p) => `should have at least ${String(p.limit)} properties`,
  uniqueItems: () => "shouldn't contain duplicates",
  multipleOf: (p) => `should be a multiple of ${String(p.multipleOf)}`,
};

const PREFIX: Partial<Record<FieldError['reason'], string>> = {
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
};

/** lib field errors (admission, metadata, CRD checks) → Status causes, worded as field.Error prints them. */
export function toCauses(errors: readonly FieldError[], object: unknown): Cause[] {
  return errors.map((e) => {
    const prefix = PREFIX[e.reason];
    let message: string;
    if (e.reason === 'FieldValueRequired') message = 'Required value';
    else if (prefix) message = `${prefix}: ${e.message}`;
    else if (e.reason === 'FieldValueNotSupported')
      message = `Unsupported value: ${show(valueAt(object, e.field))}: ${e.message}`;
    else message = `Invalid value: ${show(valueAt(object, e.field))}: ${e.message}`;
    return { reason: e.reason, message, field: e.field };
  });
}
