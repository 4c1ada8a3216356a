/**
 * What the plugin benchmarks share: commands timed in turns (so that a busy moment of the machine
 * hits every command alike) with medians and minima printed side by side, and a sandbox with a
 * 3-member TLS EtcdCluster and the plugin bundled on PATH.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import {
  buildPlugin,
  createManagedCluster,
  kubectlEtcd,
  type KubectlEtcd,
  type ManagedCluster,
} from '../test/helpers/plugin.js';

export interface Timed {
  label: string;
  argv: string[];
  options?: SpawnOptions;
}

export interface Timing {
  label: string;
  medianMs: number;
  minMs: number;
}

/**
 * Runs each command `runs` times, in turns, after one warm-up run each; fails if one fails. Never
 * synchronously: the sandbox API server the commands talk to runs in this process.
 */
export async function timeInTurns(commands: readonly Timed[], runs: number): Promise<Timing[]> {
  const samples = commands.map(() => [] as number[]);
  for (let i = -1; i < runs; i++) {
    for (const [j, c] of commands.entries()) {
      const started = performance.now();
      await runToEnd(c);
      if (i >= 0) samples[j]!.push(performance.now() - started);
    }
  }
  return commands.map((c, j) => {
    const sorted = samples[j]!.sort((a, b) => a - b);
    return { label: c.label, medianMs: sorted[Math.floor(sorted.length / 2)]!, minMs: sorted[0]! };
  });
}

function runToEnd(c: Timed): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(c.argv[0]!, c.argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], ...c.options });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${c.label} exited ${code}: ${stderr}`)),
    );
  });
}

/** One line per command: its median and minimum, and its median against the first's. */
export function printTimings(timings: readonly Timing[]): void {
  const base = timings[0]!;
  const width = Math.max(...timings.map((t) => t.label.length));
  for (const t of timings) {
    const ratio = t === base ? 'baseline' : `${(t.medianMs / base.medianMs).toFixed(2)}× the baseline`;
    console.log(
      `${t.label.padEnd(width)}   median ${t.medianMs.toFixed(0).padStart(5)} ms   min ${t.minMs.toFixed(0).padStart(5)} ms   ${ratio}`,
    );
  }
}

export interface BenchCluster {
  sandbox: Sandbox;
  demo: ManagedCluster;
  kubectl: KubectlEtcd;
  stop(): Promise<void>;
}

export async function benchCluster(): Promise<BenchCluster> {
  const teardowns: (() => void | Promise<void>)[] = [];
  const t = { teardown: (fn: () => void | Promise<void>) => void teardowns.push(fn) };
  const sandbox = await startSandbox();
  try {
    const bin = await buildPlugin(t);
    const demo = await createManagedCluster(t, sandbox, { name: 'demo' });
    return {
      sandbox,
      demo,
      kubectl: kubectlEtcd(t, sandbox, bin),
      stop: async () => {
        for (const fn of teardowns.reverse()) await fn();
        await sandbox.stop();
      },
    };
  } catch (err) {
    for (const fn of teardowns.reverse()) await fn();
    await sandbox.stop();
    throw err;
  }
}
