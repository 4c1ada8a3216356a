/**
 * The volume adapter of SnapshotStore: a directory (a PersistentVolumeClaim mounted where the
 * streaming process runs). Writes go to NAME.partial, are fsynced and renamed, and the directory is
 * synced, so a crash leaves at most a .partial file, which `list` never shows.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InterruptedError, NotFoundError, UsageError } from '../errors.js';
import type { PutOptions, SnapshotStore, StoredObject } from './store.js';

const PARTIAL = '.partial';

export interface VolumeStoreOptions {
  /** The directory snapshots are kept under. */
  root: string;
  /** How messages name it, e.g. `volume backups:/etcd`. */
  description: string;
}

export function createVolumeStore({ root, description }: VolumeStoreOptions): SnapshotStore {
  const base = resolve(root);
  const pathOf = (name: string) => {
    const path = resolve(base, name);
    if (!path.startsWith(base + sep)) throw new UsageError(`${description}: "${name}" is outside the volume`);
    return path;
  };

  return {
    description,

    async put(name: string, body: Readable, options: PutOptions = {}) {
      const path = pathOf(name);
      const partial = path + PARTIAL;
      const { signal } = options;
      const interrupted = (cause: unknown) =>
        new InterruptedError(`${description}: writing "${name}" was interrupted`, { cause });
      if (signal?.aborted) {
        body.destroy();
        throw interrupted(signal.reason);
      }
      await mkdir(dirname(path), { recursive: true });
      let size = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          size += chunk.length;
          options.onProgress?.(size);
          done(null, chunk);
        },
      });
      try {
        await pipeline(body, count, createWriteStream(partial), ...(signal ? [{ signal }] : []));
        await fsync(partial);
        await rename(partial, path);
        await fsync(dirname(path));
      } catch (err) {
        await rm(partial, { force: true });
        throw signal?.aborted ? interrupted(err) : err;
      }
      return { size };
    },

    async get(name) {
      const path = pathOf(name);
      try {
        await stat(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new NotFoundError(`${description}: no object "${name}"`, { cause: err });
        }
        throw err;
      }
      // Reads in 1 MiB blocks rather than 64 KiB: a read-back check of a large snapshot is CPU-bound.
      return createReadStream(path, { highWaterMark: 1 << 20 });
    },

    async list(prefix) {
      const objects: StoredObject[] = [];
      await walk(base, async (path) => {
        const name = relative(base, path).split(sep).join('/');
        if (name.endsWith(PARTIAL) || !name.startsWith(prefix)) return;
        const info = await stat(path);
        objects.push({ name, size: info.size, modified: info.mtime });
      });
      return objects;
    },

    async delete(name) {
      // The .partial too: what an upload interrupted by a crash left.
      await Promise.all([rm(pathOf(name), { force: true }), rm(pathOf(name) + PARTIAL, { force: true })]);
    },
  };
}

async function walk(dir: string, visit: (file: string) => Promise<void>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, visit);
    else if (entry.isFile()) await visit(path);
  }
}

async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
