/**
 * What a real control plane leaves when the Node process that owned it was killed outright (SIGKILL:
 * no exit hook runs): its directory, marked with the owner's pid, and processes whose command lines
 * name that directory. The next start removes both.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DIR_PREFIX = 'real-apiserver-';
const OWNER_FILE = 'owner.pid';

/** Marks `dir` as this process's. */
export function claimDir(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
}

/** Pids of the processes whose command line contains `text` (Linux /proc). */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) found.push(Number(pid));
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills the processes of, and removes, every control-plane directory under `parent` whose owner is gone. */
export function reapOrphans(parent: string): string[] {
  const reaped: string[] = [];
  for (const name of readdirSync(parent).filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = join(parent, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // being created, or not ours
    }
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    for (const pid of processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}
