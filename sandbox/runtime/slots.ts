/**
 * Node slots: each runtime on the machine claims a small integer under a shared directory (default
 * /run/etcd-sandbox) that names its bridge, its network namespaces and its subnet, so that runtimes in
 * parallel test processes never collide. A claim is a file created atomically (link(2) of a complete
 * temporary file) naming its owner; a claim whose owner is gone is stale and is reaped by the next
 * runtime that starts: under a lock directory (mkdir(2), so only one reaper acts), the claim stays in
 * place until its resources are gone, so nobody reuses the slot half-cleaned.
 */
import {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from './proc.js';
import { UnavailableError } from '../../lib/errors.js';

export interface SlotOwner {
  pid: number;
  /** The owner's /proc start time, so that a reused pid is not mistaken for the owner. */
  startTime: string;
  runtimeId: string;
  stateDir: string;
}

export const MAX_SLOTS = 250;

export function claimSlot(runDir: string, owner: Omit<SlotOwner, 'startTime' | 'pid'>): number {
  mkdirSync(runDir, { recursive: true });
  const record: SlotOwner = { pid: process.pid, startTime: processStartTime(process.pid) ?? '', ...owner };
  const tmp = join(runDir, `.claim-${process.pid}-${owner.runtimeId}`);
  writeFileSync(tmp, JSON.stringify(record));
  try {
    // Start from a per-process point, so that a slot just freed is rarely taken again at once.
    for (let i = 0; i < MAX_SLOTS; i++) {
      const slot = (process.pid + i) % MAX_SLOTS;
      try {
        linkSync(tmp, slotFile(runDir, slot));
        return slot;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  } finally {
    unlinkSync(tmp);
  }
  throw new UnavailableError(`all ${MAX_SLOTS} sandbox node slots in ${runDir} are taken`);
}

export function releaseSlot(runDir: string, slot: number): void {
  try {
    unlinkSync(slotFile(runDir, slot));
  } catch {
    // already reaped
  }
}

/** Calls `reap` for every slot whose owner process is gone, then frees the slot. */
export async function reapStaleSlots(
  runDir: string,
  reap: (slot: number, owner: SlotOwner) => Promise<void>,
): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(runDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const slot = /^slot-(\d+)$/.exec(entry)?.[1];
    if (slot === undefined) continue;
    const file = join(runDir, entry);
    const owner = readOwner(file);
    if (owner === undefined || processStartTime(owner.pid) === owner.startTime) continue;
    const lock = `${file}.reaping`;
    try {
      mkdirSync(lock);
    } catch {
      continue; // another runtime reaps it
    }
    try {
      // Still the same stale claim? (Another reaper may have finished, and a new owner claimed it.)
      if (JSON.stringify(readOwner(file)) !== JSON.stringify(owner)) continue;
      await reap(Number(slot), owner);
      unlinkSync(file);
    } finally {
      rmdirSync(lock);
    }
  }
}

function readOwner(file: string): SlotOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SlotOwner;
  } catch {
    return undefined;
  }
}

function slotFile(runDir: string, slot: number): string {
  return join(runDir, `slot-${slot}`);
}
