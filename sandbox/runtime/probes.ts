/**
 * Probes as the kubelet runs them: httpGet (http and https, any certificate), tcpSocket and exec,
 * every periodSeconds after initialDelaySeconds, each try bounded by timeoutSeconds; the result flips
 * after successThreshold successes or failureThreshold failures in a row.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';

export type ProbeCheck = (timeoutMs: number) => Promise<boolean>;

export interface ProbeTarget {
  ip: string;
  ports: readonly V1ContainerPort[];
  /** Runs a command in the container; resolves to its exit code. */
  exec(command: string[], timeoutMs: number): Promise<number>;
}

export function probeCheck(probe: V1Probe, target: ProbeTarget): ProbeCheck {
  if (probe.httpGet) {
    const get = probe.httpGet;
    return (timeoutMs) =>
      httpOk(
        get.scheme === 'HTTPS',
        get.host || target.ip,
        resolvePort(get.port, target.ports),
        get.path ?? '/',
        Object.fromEntries((get.httpHeaders ?? []).map((h) => [h.name, h.value])),
        timeoutMs,
      );
  }
  if (probe.tcpSocket) {
    const tcp = probe.tcpSocket;
    return (timeoutMs) => tcpOk(tcp.host || target.ip, resolvePort(tcp.port, target.ports), timeoutMs);
  }
  if (probe.exec) {
    const command = probe.exec.command ?? [];
    return async (timeoutMs) => (await target.exec(command, timeoutMs).catch(() => 1)) === 0;
  }
  return () => Promise.resolve(false); // grpc probes are not supported: they fail, visibly.
}

/** A named port (`metrics`) is looked up in the container's ports. */
export function resolvePort(port: number | string, ports: readonly V1ContainerPort[]): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort ?? 0;
}

function httpOk(
  https: boolean,
  host: string,
  port: number,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    const options = { host, port, path, headers, timeout: timeoutMs, rejectUnauthorized: false };
    const req = (https ? httpsRequest : httpRequest)(options, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpOk(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface ProbeState {
  /** undefined until the first result that crosses a threshold. */
  result?: boolean;
  successes: number;
  failures: number;
}

/** The state after one more try. Pure. */
export function nextProbeState(state: ProbeState, ok: boolean, probe: V1Probe): ProbeState {
  const successes = ok ? state.successes + 1 : 0;
  const failures = ok ? 0 : state.failures + 1;
  let result = state.result;
  if (ok && successes >= (probe.successThreshold ?? 1)) result = true;
  if (!ok && failures >= (probe.failureThreshold ?? 3)) result = false;
  return { successes, failures, ...(result !== undefined ? { result } : {}) };
}

/** Runs `check` on the probe's schedule, calling `onResult` whenever the result changes, until stopped. */
export class ProbeLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private state: ProbeState = { successes: 0, failures: 0 };

  constructor(
    private readonly probe: V1Probe,
    private readonly check: ProbeCheck,
    private readonly onResult: (ok: boolean) => void,
  ) {}

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const ok = await this.check((this.probe.timeoutSeconds ?? 1) * 1000);
    if (this.stopped) return;
    const before = this.state.result;
    this.state = nextProbeState(this.state, ok, this.probe);
    if (this.state.result !== undefined && this.state.result !== before) this.onResult(this.state.result);
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }
}
