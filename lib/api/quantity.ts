/**
 * Kubernetes resource quantities (`10Gi`, `512Mi`, `1.5G`, `1e9`, or a plain number) as a whole
 * number of bytes, rounded up as the API server rounds. BigInt, because Ei exceeds 2^53.
 */

const BINARY: Record<string, bigint> = { Ki: 1n, Mi: 2n, Gi: 3n, Ti: 4n, Pi: 5n, Ei: 6n };
const DECIMAL: Record<string, number> = { k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY = /^\+?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

/** Parses a quantity; undefined when it is not one (or is negative). */
export function parseQuantity(value: number | string): bigint | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? BigInt(Math.ceil(value)) : undefined;
  }
  const m = QUANTITY.exec(value);
  if (!m) return undefined;
  const [, num = '', suffix = ''] = m;
  const [int = '', frac = ''] = num.split('.');
  // mantissa × 10^-frac.length, scaled by the suffix, rounded up.
  const mantissa = BigInt(`${int}${frac}` || '0');
  let numerator = mantissa;
  let denominator = 10n ** BigInt(frac.length);
  if (suffix in BINARY) numerator *= 1024n ** BINARY[suffix]!;
  else if (suffix in DECIMAL) numerator *= 10n ** BigInt(DECIMAL[suffix]!);
  else if (suffix !== '') {
    const exp = Number(suffix.slice(1));
    if (exp >= 0) numerator *= 10n ** BigInt(exp);
    else denominator *= 10n ** BigInt(-exp);
  }
  return (numerator + denominator - 1n) / denominator;
}

/** Bytes in the largest binary unit that keeps one decimal: 10737418240 → `10Gi`, 1536 → `1.5Ki`. */
export function formatBytes(bytes: bigint | number): string {
  const n = Number(bytes);
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = i === 0 ? String(v) : Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${shown}${units[i]}`;
}
