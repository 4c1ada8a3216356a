/**
 * ajv configured as the Kubernetes API server validates custom resources, and the translation of
 * ajv's errors into field errors that name their path (`spec.size: must be <= 9`).
 */
import { Ajv, type ErrorObject, type Options } from 'ajv';
import type { FieldError, FieldErrorReason } from '../errors.js';
import type { JSONSchemaProps } from './openapi.js';

/** ajv that defaults in place, reports every error, and knows our schema annotations. */
export function newAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    allowUnionTypes: true,
    strictTypes: false,
    ...options,
  });
  ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
  return ajv;
}

/**
 * ajv errors → field errors, one per field and problem. `schema` is the schema validated against,
 * to read a node's `x-message` (the sentence that explains a pattern) and its int-or-string mark.
 */
export function toFieldErrors(errors: readonly ErrorObject[], schema: JSONSchemaProps): FieldError[] {
  // A failed anyOf reports each branch too; the anyOf error alone says it best.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (
      error.keyword !== 'anyOf' &&
      anyOfPaths.has(error.instancePath) &&
      error.schemaPath.includes('/anyOf/')
    ) {
      continue;
    }
    const fe = toFieldError(error, schema);
    const key = `${fe.field}\0${fe.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(fe);
    }
  }
  return out;
}

function toFieldError(error: ErrorObject, schema: JSONSchemaProps): FieldError {
  const path = fieldPath(error.instancePath);
  const node = schemaNode(schema, error.schemaPath);
  const p = error.params as Record<string, unknown>;
  const at = (reason: FieldErrorReason, message: string, field = path): FieldError => ({
    field,
    reason,
    message,
  });
  const explained = typeof node?.['x-message'] === 'string' ? node['x-message'] : undefined;

  switch (error.keyword) {
    case 'required':
      return at('FieldValueRequired', 'Required value', join(path, String(p.missingProperty)));
    case 'additionalProperties':
      return at('FieldValueUnknown', 'unknown field', join(path, String(p.additionalProperty)));
    case 'type':
      return at('FieldValueTypeInvalid', `must be of type ${String(p.type).replace(',', ' or ')}`);
    case 'enum':
      return at(
        'FieldValueNotSupported',
        `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      );
    case 'anyOf':
      return at('FieldValueTypeInvalid', explained ?? 'must be an integer or a string');
    case 'pattern':
      return at('FieldValueInvalid', explained ?? `must match the pattern ${String(p.pattern)}`);
    case 'minLength':
      return at(
        'FieldValueInvalid',
        p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`,
      );
    case 'maxLength':
      return at('FieldValueTooLong', `must be at most ${String(p.limit)} characters`);
    case 'maxItems':
      return at('FieldValueTooMany', `must have at most ${String(p.limit)} items`);
    case 'minProperties':
    case 'maxProperties':
      return at('FieldValueInvalid', explained ?? error.message ?? 'is invalid');
    default:
      return at('FieldValueInvalid', error.message ?? 'is invalid');
  }
}

/** `/spec/members/0/name` → `spec.members[0].name` */
export function fieldPath(instancePath: string): string {
  if (instancePath === '') return '<root>';
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`), '');
}

function join(path: string, child: string): string {
  return path === '<root>' ? child : `${path}.${child}`;
}

/** The schema node that holds the failing keyword, found by walking `#/properties/spec/.../pattern`. */
function schemaNode(schema: JSONSchemaProps, schemaPath: string): JSONSchemaProps | undefined {
  const segments = schemaPath.replace(/^#\/?/, '').split('/').slice(0, -1);
  let node: unknown = schema;
  for (const seg of segments) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return typeof node === 'object' && node !== null ? (node as JSONSchemaProps) : undefined;
}
