/**
 * A long-running script of this repository (the demo, the sandbox CLI) run as a user runs it, and
 * the processes it started: to check that Ctrl-C leaves none of them behind.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface Script {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains `text`; rejects, with its stderr, if the script exits first. */
  printed(text: string): Promise<void>;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/** `node --import tsx FILE ARGS…` from the repository's root; killed at teardown if it still runs. */
export function startScript(t: Teardown, file: string, args: string[] = []): Script {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => stdout.includes(text) && resolve();
      check();
      child.stdout.on('data', check);
      void exited.then((code) => reject(new Error(`${file} exited ${code} first: ${stderr}`)));
    });
  return { child, stdout: () => stdout, stderr: () => stderr, printed, exited };
}

export interface Process {
  pid: number;
  ppid: number;
  args: string;
}

export async function processes(): Promise<Process[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,args=']);
  return stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
}

/**
 * Every process under `pid`, children of children included, but tsx's esbuild service: the
 * loader's, which ends on its own once its parent has gone.
 */
export async function descendants(pid: number): Promise<Process[]> {
  const all = await processes();
  const found: Process[] = [];
  const parents = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found.filter((p) => !p.args.includes('esbuild --service'));
}

/** The command lines of those of `started` that still run. */
export async function stillRunning(started: Process[]): Promise<string[]> {
  const alive = new Set((await processes()).map((p) => p.pid));
  return started.filter((p) => alive.has(p.pid)).map((p) => p.args);
}
