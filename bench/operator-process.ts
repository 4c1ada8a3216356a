/**
 * etcd-operator as its own process (operator/main.ts through tsx), as it runs in a cluster: its
 * synchronous work (key generation) then blocks neither the sandbox's API server nor the kubelet in
 * this process. Its debug log is kept, with each line's time, to show the reconcile passes.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface OperatorLogLine {
  /** Wall-clock ms. */
  at: number;
  msg: string;
  /** The reconciled object, on the lines of a reconcile. */
  name?: string;
  phase?: string;
  membership?: string;
}

export interface OperatorProcess {
  readonly lines: readonly OperatorLogLine[];
  /** SIGTERM, and waits until it has exited. */
  stop(): Promise<void>;
}

const REPO = fileURLToPath(new URL('..', import.meta.url));
const READY_WITHIN_MS = 60_000;

/** Starts the operator with its default flags (no probe or metrics ports) and waits for its workers. */
export async function startOperatorProcess(kubeconfigPath: string): Promise<OperatorProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'operator/main.ts',
      `--kubeconfig=${kubeconfigPath}`,
      '--log-level=debug',
      '--health-addr=0',
      '--metrics-addr=0',
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: OperatorLogLine[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('etcd-operator did not start its workers')),
      READY_WITHIN_MS,
    );
    void exited.then(() => reject(new Error(`etcd-operator exited: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = parseLine(text);
      if (!line) return;
      lines.push(line);
      if (line.msg === 'starting workers') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return { lines, stop };
}

function parseLine(text: string): OperatorLogLine | undefined {
  try {
    const entry = JSON.parse(text) as Record<string, unknown>;
    const str = (key: string) => (typeof entry[key] === 'string' ? { [key]: entry[key] } : {});
    if (typeof entry.time !== 'string' || typeof entry.msg !== 'string') return undefined;
    return {
      at: Date.parse(entry.time),
      msg: entry.msg,
      ...str('name'),
      ...str('phase'),
      ...str('membership'),
    };
  } catch {
    return undefined;
  }
}
