/**
 * The columns a string takes in a terminal, standing in for `string-width` in the plugin bundle (yargs
 * and cliui measure help text with it). string-width builds an Intl.Segmenter and Unicode-property
 * regexes when it is loaded, about 40 ms of every start of a CLI that only prints a table; this
 * counts code points instead: escape sequences and combining marks take none, East Asian wide and
 * fullwidth characters and emoji take two.
 */
import { stripVTControlCharacters } from 'node:util';

const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

let zeroWidth: RegExp | undefined;

export default function stringWidth(text: string): number {
  if (typeof text !== 'string' || text === '') return 0;
  const plain = stripVTControlCharacters(text);
  if (/^[\x20-\x7e]*$/.test(plain)) return plain.length;
  zeroWidth ??= /[\p{Mn}\p{Me}\p{Cf}\p{Cc}]/u;
  let width = 0;
  for (const char of plain) {
    if (zeroWidth.test(char)) continue;
    const code = char.codePointAt(0)!;
    width += WIDE.some(([from, to]) => code >= from && code <= to) ? 2 : 1;
  }
  return width;
}
