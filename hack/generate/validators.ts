/**
 * Standalone ajv validators for our kinds: compiled here, so that the library and the bundled CLI
 * validate without compiling schemas at start-up. Each validator applies schema defaults in place
 * (as the API server does) and reports unknown fields as errors.
 */
import type { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { toAjvSchema, type JSONSchemaProps } from '../../lib/api/openapi.js';
import { newAjv } from '../../lib/api/schema-validation.js';

export interface ValidatorSources {
  /** The export name, e.g. validateEtcdCluster. */
  name: string;
  /** The kind's resolved schema (references inlined, `x-message` kept). */
  schema: JSONSchemaProps;
}

export function generateValidators(
  list: ValidatorSources[],
  banner: string,
): { js: string; dts: string; schemas: string } {
  const ajv: Ajv = newAjv({ code: { source: true, esm: true, lines: true } });
  const ids: Record<string, string> = {};
  const ajvSchemas: Record<string, JSONSchemaProps> = {};
  for (const { name, schema } of list) {
    const ajvSchema = toAjvSchema(schema, { root: true });
    ajv.addSchema(ajvSchema, name);
    ids[name] = name;
    ajvSchemas[name] = ajvSchema;
  }
  const js = `${banner}\n${inlineRuntimeHelpers(standaloneCode.default(ajv, ids))}\n`;
  const dts = [
    banner,
    "import type { ValidateFunction } from 'ajv';",
    ...list.map(({ name }) => `export declare const ${name}: ValidateFunction;`),
    '',
  ].join('\n');
  const schemas = [
    banner,
    '/** The JSON Schemas the validators were compiled from, for reading error context (x-message). */',
    ...list.map(
      ({ name }) =>
        `export const ${name}Schema: Record<string, unknown> = ${JSON.stringify(ajvSchemas[name], null, 2)};`,
    ),
    '',
  ].join('\n');
  return { js, dts, schemas };
}

/**
 * ajv's standalone ESM output still `require`s its runtime helpers, and an ESM module has no
 * `require`; importing the CommonJS helper instead resolves differently under node and under tsx.
 * The helpers are small, so each known one is inlined.
 */
const RUNTIME_HELPERS: Record<string, string> = {
  // Length in Unicode code points, as JSON Schema's minLength/maxLength count.
  'ajv/dist/runtime/ucs2length': '((s) => { let n = 0; for (const _ of s) n++; return n; })',
};

function inlineRuntimeHelpers(code: string): string {
  const body = code.replace(/require\("([^"]+)"\)\.default/g, (_m, mod: string) => {
    const inline = RUNTIME_HELPERS[mod];
    if (inline === undefined)
      throw new Error(`standalone validator code requires ${mod}: add it to RUNTIME_HELPERS`);
    return inline;
  });
  if (/\brequire\(/.test(body))
    throw new Error('standalone validator code has a require() this generator cannot inline');
  return body;
}
