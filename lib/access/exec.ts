/**
 * Runs a command in a pod's container through the API server (`pods/<pod>/exec`), with
 * client-node's `Exec`, and collects what it prints and how it ended.
 */
import { Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { EtcdOperatorError, InterruptedError } from '../errors.js';
import { channelConnector } from './channel.js';

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

/** Resolves with the command's output and exit code; rejects when it could not be run at all. */
export async function execInPod(kubeConfig: KubeConfig, req: ExecRequest): Promise<ExecResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let status: V1Status | undefined;
  const ws = await new Exec(kubeConfig, channelConnector(kubeConfig)).exec(
    req.namespace,
    req.pod,
    req.container,
    req.command,
    collect(stdout),
    collect(stderr),
    null,
    false,
    (s) => (status = s),
  );
  const abort = () => ws.terminate();
  req.signal?.addEventListener('abort', abort, { once: true });
  try {
    await new Promise<void>((resolve) =>
      ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve()),
    );
  } finally {
    req.signal?.removeEventListener('abort', abort);
  }
  if (req.signal?.aborted) throw new InterruptedError(`${describe(req)} interrupted`);
  const exitCode = exitCodeOf(status);
  if (exitCode === undefined) {
    const why = status?.message ?? 'the connection closed before the command finished';
    throw new EtcdOperatorError(`${describe(req)}: ${why}`);
  }
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8'), exitCode };
}

/** 0 for Success, N for NonZeroExitCode N; undefined when the command did not run to an end. */
export function exitCodeOf(
  status: Pick<V1Status, 'status' | 'reason' | 'details'> | undefined,
): number | undefined {
  if (status?.status === 'Success') return 0;
  if (status?.reason !== 'NonZeroExitCode') return undefined;
  const code = Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message);
  return Number.isInteger(code) ? code : undefined;
}

function collect(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      into.push(chunk);
      done();
    },
  });
}

function describe(req: ExecRequest): string {
  return `exec ${req.command[0] ?? ''} in pod ${req.namespace}/${req.pod}`;
}
