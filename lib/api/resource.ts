/** The parse pipeline shared by our kinds: identity, schema (with defaults), then semantic rules. */
import type { ValidateFunction } from 'ajv';
import { GROUP_VERSION } from './group.js';
import { Problems } from './problems.js';
import { toFieldErrors } from './schema-validation.js';
import type { JSONSchemaProps } from './openapi.js';

export interface Parsed<T> {
  /** The resource with every schema default applied. */
  object: T;
  /** Advice that does not make the resource invalid, each `field: message`. */
  warnings: string[];
}

export function parseResource<T>(
  input: unknown,
  kind: string,
  validate: ValidateFunction,
  schema: JSONSchemaProps,
  check: (object: T, problems: Problems) => void,
): Parsed<T> {
  const p = new Problems();
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    p.add('<root>', 'FieldValueTypeInvalid', `must be an object (a ${kind} manifest)`);
    p.throwIfAny(kind);
  }
  const object = structuredClone(input) as Record<string, unknown>;
  if (object.apiVersion !== GROUP_VERSION) p.invalid('apiVersion', `must be ${GROUP_VERSION}`);
  if (object.kind !== kind) p.invalid('kind', `must be ${kind}`);
  object.metadata ??= {};
  if (!validate(object)) p.errors.push(...toFieldErrors(validate.errors ?? [], schema));
  p.throwIfAny(kind);
  check(object as T, p);
  p.throwIfAny(kind);
  return { object: object as T, warnings: p.warnings };
}
