/**
 * A member's data directory made from a snapshot file: `etcdutl snapshot restore` (etcdctl for
 * 3.4) into DIR.restoring, then a rename into place, so that a crash at any point leaves either no
 * data directory or a complete one — never a half-restored member that etcd would start from.
 */
import { execFile } from 'node:child_process';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { EtcdOperatorError, InterruptedError } from '../errors.js';
import type { SnapshotRestoreTool } from './etcd-tools.js';

const run = promisify(execFile);

export interface DataDirRestore {
  tool: SnapshotRestoreTool;
  /** The snapshot file (checked already). */
  snapshot: string;
  /** The data directory to make; it must not hold a member. */
  dataDir: string;
  /** The member's name, and the cluster it founds, as its etcd will be started. */
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerURLs: string;
  signal?: AbortSignal;
}

/** True when `dataDir` already holds a member (etcd's `member/` directory). */
export async function holdsMember(dataDir: string): Promise<boolean> {
  try {
    return (await stat(join(dataDir, 'member'))).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function restoreDataDir(r: DataDirRestore): Promise<void> {
  const staging = join(dirname(r.dataDir), `${basename(r.dataDir)}.restoring`);
  // A staging directory is what an interrupted restore left: never started from, safe to redo.
  await rm(staging, { recursive: true, force: true });
  try {
    await run(
      r.tool.path,
      [
        'snapshot',
        'restore',
        r.snapshot,
        `--data-dir=${staging}`,
        `--name=${r.name}`,
        `--initial-cluster=${r.initialCluster}`,
        `--initial-cluster-token=${r.initialClusterToken}`,
        `--initial-advertise-peer-urls=${r.initialAdvertisePeerURLs}`,
      ],
      { ...(r.signal ? { signal: r.signal } : {}), maxBuffer: 16 * 1024 * 1024 },
    );
    // No member was ever started over `dataDir` (the caller checked): what is there is a leftover.
    await rm(r.dataDir, { recursive: true, force: true });
    await rename(staging, r.dataDir);
    const parent = await open(dirname(r.dataDir), 'r');
    await parent.sync().finally(() => parent.close());
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (r.signal?.aborted) throw new InterruptedError(`restore of ${r.name} interrupted`, { cause: err });
    const stderr = (err as { stderr?: string }).stderr?.trim().split('\n').slice(-2).join(' | ');
    const code = (err as { code?: string | number }).code;
    throw new EtcdOperatorError(
      `${r.tool.command} snapshot restore of ${basename(r.snapshot)} failed${code !== undefined ? ` (exit ${code})` : ''}${stderr ? `: ${stderr}` : ''}`,
      { cause: err },
    );
  }
}
