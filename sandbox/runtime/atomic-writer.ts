/**
 * Kubernetes' AtomicWriter for Secret, ConfigMap and downward-API volumes: the files live in a
 * timestamped directory, `..data` points at it, and each top-level name is a symlink through
 * `..data`; an update writes a new directory and swaps `..data` with one rename, so a reader never
 * sees half an update (and certificate reloaders see the change).
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

export interface PayloadFile {
  data: Buffer;
  mode: number;
}

/** Relative path → content. */
export type Payload = Map<string, PayloadFile>;

/** Writes `payload` into `dir` if it differs from what is there; returns whether it wrote. */
export function writeAtomically(dir: string, payload: Payload): boolean {
  mkdirSync(dir, { recursive: true });
  const dataLink = join(dir, '..data');
  const current = existsSync(dataLink) ? readlinkSync(dataLink) : undefined;
  if (current !== undefined && sameContent(join(dir, current), payload)) return false;

  const version = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${process.hrtime.bigint() % 100000n}`;
  for (const [path, file] of payload) {
    const target = join(dir, version, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.data, { mode: file.mode });
  }
  mkdirSync(join(dir, version), { recursive: true });
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(version, tmpLink);
  renameSync(tmpLink, dataLink);

  const top = new Set([...payload.keys()].map((p) => p.split('/')[0] ?? p));
  for (const name of top) {
    if (!existsSync(join(dir, name))) symlinkSync(join('..data', name), join(dir, name));
  }
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('..') && !top.has(name)) rmSync(join(dir, name), { force: true });
  }
  if (current !== undefined) rmSync(join(dir, current), { recursive: true, force: true });
  return true;
}

function sameContent(versionDir: string, payload: Payload): boolean {
  const files = listFiles(versionDir);
  if (files.length !== payload.size) return false;
  return files.every((path) => {
    const want = payload.get(path);
    return want !== undefined && readFileSync(join(versionDir, path)).equals(want.data);
  });
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}
