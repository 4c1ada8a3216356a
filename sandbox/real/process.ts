/**
 * A child process of the real control plane (etcd, kube-apiserver, kube-controller-manager): its
 * output goes to a log file whose tail explains a failed start, and stop() waits for it to exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnavailableError } from '../../lib/errors.js';

export interface ControlPlaneProcess {
  readonly name: string;
  readonly logFile: string;
  /** The exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Undefined while it runs, else how it ended. */
  exitStatus(): number | string | undefined;
  /** The last `lines` lines of its output. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, without waiting: for when this Node process is exiting. */
  kill(): void;
}

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  logFile: string,
): ControlPlaneProcess {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let status: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    const done = (value: number | string) => {
      status ??= value;
      resolve(status);
    };
    child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown'));
    // spawn failures (ENOENT, EACCES) emit 'error' and never 'exit'.
    child.once('error', (err) => done(err.message));
  });

  const logTail = (lines = 20): string => {
    const text = readFileSync(logFile, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  };

  return {
    name,
    logFile,
    exited,
    exitStatus: () => status,
    logTail,
    kill: () => {
      if (status === undefined) child.kill('SIGKILL');
    },
    async stop(graceMs = 10_000) {
      if (status !== undefined) return;
      child.kill('SIGTERM');
      const ended = await Promise.race([exited.then(() => true), sleep(graceMs, false)]);
      if (!ended) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Polls `ready` until it resolves true; throws an UnavailableError with the process's last output
 * when the process exits first or `timeoutMs` passes.
 */
export async function waitUntilReady(
  proc: ControlPlaneProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = proc.exitStatus();
    if (status !== undefined) {
      throw new UnavailableError(`${proc.name} exited (${status}) before it was ready:\n${proc.logTail()}`);
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new UnavailableError(`${proc.name} was not ready after ${timeoutMs / 1000}s:\n${proc.logTail()}`);
    }
    await sleep(intervalMs);
  }
}
