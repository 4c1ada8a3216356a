/** One run of a container: a process group of its own, its output appended to its log file. */
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

export interface Exit {
  exitCode: number;
  signal?: number;
  signalName?: NodeJS.Signals;
}

export class ContainerProcess {
  readonly pid: number;
  readonly startedAt = new Date();
  readonly exited: Promise<Exit>;
  /** Resolves true once the container's root is built and its command is being started; false if that failed. */
  readonly setUp: Promise<boolean>;
  private done = false;

  constructor(command: { file: string; args: string[] }, env: Record<string, string>, logFd: number) {
    // detached: a session and process group of its own, so that signals reach everything it starts.
    const child = spawn(command.file, command.args, {
      env,
      stdio: ['ignore', logFd, logFd, 'pipe'],
      detached: true,
    });
    closeSync(logFd);
    const setup = child.stdio[3] as Readable | null;
    this.setUp = new Promise<boolean>((resolve) => {
      if (!setup) return resolve(false);
      setup.once('data', () => resolve(true));
      setup.once('close', () => resolve(false));
      setup.once('error', () => resolve(false));
    });
    this.exited = new Promise<Exit>((resolve) => {
      child.once('error', () => {
        this.done = true;
        resolve({ exitCode: 127 });
      });
      child.once('exit', (code, signal) => {
        this.done = true;
        const number = signal ? constants.signals[signal] : undefined;
        resolve(
          signal
            ? {
                exitCode: 128 + (number ?? 0),
                signalName: signal,
                ...(number !== undefined ? { signal: number } : {}),
              }
            : { exitCode: code ?? 0 },
        );
      });
    });
    this.pid = child.pid ?? -1;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Signals the whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (this.done || this.pid < 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // already gone
    }
  }
}
