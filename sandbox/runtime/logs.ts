/**
 * Container logs: one file per run of a container (`<dir>/<container>/<run>.log`, stdout and stderr
 * interleaved as the process wrote them), so that the current and the previous run can be served.
 */
import { createReadStream, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError } from '../../lib/errors.js';

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  previous?: boolean;
}

export class ContainerLogs {
  constructor(private readonly dir: string) {}

  /** Opens the log file of run `run` of `container` for appending (the child writes to it directly). */
  openRun(container: string, run: number): number {
    mkdirSync(join(this.dir, container), { recursive: true });
    return openSync(this.path(container, run), 'a');
  }

  /**
   * The log of the current run (`run`) or the one before it. With `follow`, the stream stays open,
   * passing on what is appended, until `live()` turns false and the file is read to its end.
   */
  read(container: string, run: number, options: LogOptions, live: () => boolean): Readable {
    const wanted = options.previous ? run - 1 : run;
    const path = this.path(container, wanted);
    if (wanted < 0 || !existsSync(path)) {
      throw new NotFoundError(
        options.previous
          ? `previous terminated container "${container}" not found`
          : `container "${container}" has no logs yet`,
      );
    }
    let start = 0;
    if (options.tailLines !== undefined) start = tailOffset(readFileSync(path), options.tailLines);
    if (!options.follow || options.previous) return createReadStream(path, { start });
    return Readable.from(follow(path, start, live));
  }

  private path(container: string, run: number): string {
    return join(this.dir, container, `${run}.log`);
  }
}

/** The byte offset where the last `lines` lines of `data` begin. */
export function tailOffset(data: Buffer, lines: number): number {
  if (lines <= 0) return data.length;
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--;
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (data[i] === 0x0a && ++seen === lines) return i + 1;
  }
  return 0;
}

async function* follow(path: string, start: number, live: () => boolean): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    let offset = start;
    for (;;) {
      const stillLive = live();
      const size = statSync(path).size;
      while (offset < size) {
        const buf = Buffer.alloc(Math.min(64 * 1024, size - offset));
        const { bytesRead } = await file.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
      if (!stillLive) return;
      await sleep(200);
    }
  } finally {
    await file.close();
  }
}
