/**
 * What an etcd member's JSON log says about its start, as wall-clock times (ms since the epoch): the
 * process began, its bootstrap check of the other peers ended, it saw a leader, it served clients.
 * Read from the floor's log files and from the sandbox pods' logs alike.
 */

export interface EtcdStart {
  /** The first line: the process is running. */
  began?: number;
  /** "opened backend db": the data directory is open. */
  backendOpened?: number;
  /**
   * "starting local member": a new member has asked its peers whether it was already bootstrapped —
   * a peer that listens but does not serve yet costs a one-second timeout here, per peer.
   */
  bootstrapChecked?: number;
  /** A leader is known (raft "elected leader"). */
  leaderElected?: number;
  /** "ready to serve client requests". */
  serving?: number;
}

const MARKS: [keyof EtcdStart, RegExp][] = [
  ['backendOpened', /^opened backend db/],
  ['bootstrapChecked', /^starting local member/],
  ['leaderElected', /elected leader/],
  ['serving', /^ready to serve client requests/],
];

export function parseEtcdStart(log: string): EtcdStart {
  const start: EtcdStart = {};
  for (const line of log.split('\n')) {
    let entry: { ts?: string; msg?: string };
    try {
      entry = JSON.parse(line) as { ts?: string; msg?: string };
    } catch {
      continue;
    }
    const at = entry.ts ? Date.parse(entry.ts) : NaN;
    if (Number.isNaN(at)) continue;
    start.began ??= at;
    for (const [key, pattern] of MARKS) if (pattern.test(entry.msg ?? '')) start[key] ??= at;
  }
  return start;
}

/** The longest bootstrap check of the members, in ms (undefined when a log lacks the marks). */
export function longestBootstrapCheck(starts: readonly EtcdStart[]): number | undefined {
  const checks = starts.map((s) =>
    s.bootstrapChecked !== undefined && s.backendOpened !== undefined
      ? s.bootstrapChecked - s.backendOpened
      : undefined,
  );
  return checks.every((c) => c !== undefined) ? Math.max(...checks) : undefined;
}
