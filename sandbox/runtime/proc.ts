/**
 * Finding the processes a runtime started, from /proc: each carries `SANDBOX_RUNTIME=<runtime id>` in
 * its environment (containers and exec sessions alike), which survives the runtime's own crash.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The environment variable that marks every process of a runtime. */
export const RUNTIME_MARKER = 'SANDBOX_RUNTIME';

/** The pids (other than this process) whose environment carries `SANDBOX_RUNTIME=<runtimeId>`. */
export function runtimeProcesses(runtimeId: string): number[] {
  const needle = Buffer.from(`\0${RUNTIME_MARKER}=${runtimeId}\0`);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`)]);
      if (environ.includes(needle)) pids.push(pid);
    } catch {
      // gone, or a kernel thread
    }
  }
  return pids;
}

/** The start time of `pid` in clock ticks since boot (with the pid, an identity that reuse cannot fake). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Sends `signal` to each pid, ignoring those already gone. */
export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
