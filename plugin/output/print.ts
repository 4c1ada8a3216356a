/**
 * Data for scripts: JSON (two-space indented, as kubectl prints it) and YAML of plain objects whose
 * key order the caller fixed, so that the output is stable from run to run.
 */
import type { OutputFormat } from '../options.js';

export async function renderData(
  value: unknown,
  format: Extract<OutputFormat, 'json' | 'yaml'>,
): Promise<string> {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  const { yamlStringify } = await import('../core.js');
  return yamlStringify(value, { lineWidth: 0 });
}
