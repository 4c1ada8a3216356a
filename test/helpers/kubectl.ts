/**
 * The real kubectl against a test API server: a kubeconfig and a fresh discovery cache per test
 * (kubectl caches discovery for hours), both removed when the test ends.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  kubeconfig: string;
  /** Runs kubectl to completion (stdin optional). */
  run(args: string[], stdin?: string): Promise<KubectlResult>;
  /** Starts a long-running kubectl (`get -w`, a waiting `delete`); killed at teardown. */
  start(args: string[]): RunningKubectl;
}

export interface RunningKubectl {
  child: ChildProcessWithoutNullStreams;
  /** Everything printed to stdout so far. */
  output(): string;
  /** Resolves once stdout contains `text`. */
  waitFor(text: string | RegExp): Promise<void>;
  exited: Promise<KubectlResult>;
}

export function kubectlFor(
  t: Teardown,
  server: { writeKubeconfig(path: string, user?: string): void },
  user = 'admin',
): Kubectl {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-'));
  const children: ChildProcessWithoutNullStreams[] = [];
  t.teardown(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  });
  const kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig, user);
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache')];
  const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: dir };

  const start = (args: string[]): RunningKubectl => {
    const child = spawn('kubectl', [...base, ...args], { env });
    children.push(child);
    let stdout = '';
    let stderr = '';
    const waiters: { text: string | RegExp; resolve: () => void }[] = [];
    const matches = (text: string | RegExp) =>
      typeof text === 'string' ? stdout.includes(text) : text.test(stdout);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      for (const w of [...waiters]) {
        if (matches(w.text)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<KubectlResult>((resolve) =>
      child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
    );
    return {
      child,
      output: () => stdout,
      waitFor: (text) =>
        matches(text)
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => {
              waiters.push({ text, resolve });
              void exited.then((r) =>
                reject(new Error(`kubectl exited (${r.code}) before printing ${String(text)}: ${r.stderr}`)),
              );
            }),
      exited,
    };
  };

  return {
    kubeconfig,
    start,
    run(args, stdin) {
      const running = start(args);
      if (stdin !== undefined) running.child.stdin.end(stdin);
      else running.child.stdin.end();
      return running.exited;
    },
  };
}
