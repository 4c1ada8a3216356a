/**
 * Tables as kubectl prints them: upper-case headers, no borders, columns three spaces apart, the
 * last column unpadded, `<none>` for an empty cell. Wide columns appear only with `-o wide`.
 */

export interface Column<T> {
  header: string;
  value(row: T): string | number | boolean | undefined;
  /** Only with `-o wide`. */
  wide?: boolean;
}

export interface TableOptions {
  wide?: boolean;
  noHeaders?: boolean;
}

export const NONE = '<none>';
const GAP = '   ';

export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  options: TableOptions = {},
): string {
  const shown = columns.filter((c) => options.wide || !c.wide);
  const cells = rows.map((row) => shown.map((c) => cellText(c.value(row))));
  const lines = options.noHeaders ? cells : [shown.map((c) => c.header.toUpperCase()), ...cells];
  const widths = shown.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)));
  return lines
    .map((line) =>
      line
        .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join(GAP)
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

function cellText(value: string | number | boolean | undefined): string {
  if (value === undefined || value === '') return NONE;
  return String(value).replace(/\s*\n\s*/g, ' ');
}
