/**
 * Progress of a transfer on stderr: a bar redrawn in place on a terminal; otherwise a plain line at
 * every tenth, so that logs stay readable.
 */
import { formatBytes } from '../../lib/api/quantity.js';

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Ends the bar's line. */
  finish(): void;
}

const BAR_WIDTH = 30;

export function progress(label: string, stream: ProgressStream = process.stderr): Progress {
  let lastTenth = -1;
  let drawn = false;
  return {
    update(done, total) {
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const amounts = `${formatBytes(done)} of ${formatBytes(total)}`;
      if (stream.isTTY) {
        const filled = Math.round(fraction * BAR_WIDTH);
        const bar = `${'='.repeat(filled)}${filled < BAR_WIDTH ? '>' : ''}`.padEnd(BAR_WIDTH + 1);
        stream.write(
          `\r${label} [${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${amounts}\x1b[K`,
        );
        drawn = true;
        return;
      }
      const tenth = Math.floor(fraction * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        stream.write(`${label}: ${tenth * 10}% (${amounts})\n`);
      }
    },
    finish() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
