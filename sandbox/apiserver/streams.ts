/**
 * pods/exec, pods/portforward and pods/log, handed to the PodBackend. exec and port-forward speak
 * the WebSocket channel protocol: each binary frame starts with a channel byte (exec: 0 stdin,
 * 1 stdout, 2 stderr, 3 status, 4 resize, 255 close in v5; port-forward: 2i data and 2i+1 error
 * for the i-th port, the first frame of each carrying the port as two little-endian bytes).
 * kubectl port-forward needs SPDY, which is not served.
 */
import type { Duplex } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { isTrue } from './routes.js';
import { badRequest, serviceUnavailable, type Status } from './status.js';
import type { KubeObject, PodBackend, PodRef } from './types.js';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
export const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io'];

export function podRef(pod: KubeObject): PodRef {
  return {
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name ?? '',
    uid: pod.metadata.uid ?? '',
  };
}

export function requireBackend(backend: PodBackend | undefined): PodBackend {
  if (!backend)
    throw serviceUnavailable('no pod backend is attached to this sandbox API server: pods run nowhere');
  return backend;
}

/** The container a request names, or the pod's only one; 400 as the real server words it otherwise. */
export function pickContainer(pod: KubeObject, requested: string | null): string {
  const spec = (pod.spec ?? {}) as { containers?: { name: string }[]; initContainers?: { name: string }[] };
  const names = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name);
  const name = pod.metadata.name ?? '';
  if (requested) {
    if (!names.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  const containers = (spec.containers ?? []).map((c) => c.name);
  if (containers.length === 1 && containers[0] !== undefined) return containers[0];
  throw badRequest(
    `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`,
  );
}

const flag = (query: URLSearchParams, name: string) => isTrue(query.get(name));
const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });
const frame = (channel: number, data: Buffer | string) =>
  Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);

function channelWriter(ws: WebSocket, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (ws.readyState === ws.OPEN) ws.send(frame(channel, chunk), done);
      else done();
    },
  });
}

/** The status frame an exec ends with (kubectl prints `command terminated with exit code N`). */
export function execStatus(
  exitCode: number,
  command: string[],
): Omit<Status, 'kind' | 'apiVersion' | 'code'> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export function serveExec(ws: WebSocket, pod: KubeObject, backend: PodBackend, query: URLSearchParams): void {
  const container = pickContainer(pod, query.get('container'));
  const command = query.getAll('command');
  const tty = flag(query, 'tty');
  const stdin = flag(query, 'stdin') ? new PassThrough() : undefined;
  ws.on('message', (data: Buffer) => {
    const channel = data[0];
    if (channel === 0) stdin?.write(data.subarray(1));
    else if (channel === 255 && data[1] === 0) stdin?.end();
  });
  ws.on('close', () => stdin?.end());
  // Streams the client did not ask for go nowhere (client-node fails on an unexpected channel).
  const stdout = flag(query, 'stdout') ? channelWriter(ws, 1) : discard();
  const stderr = flag(query, 'stderr') ? channelWriter(ws, tty ? 1 : 2) : discard();
  const finish = (status: object) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(frame(3, JSON.stringify(status)), () => ws.close(1000));
  };
  backend.exec(podRef(pod), container, command, { ...(stdin ? { stdin } : {}), stdout, stderr, tty }).then(
    ({ exitCode }) => finish(execStatus(exitCode, command)),
    (err: unknown) =>
      finish({ metadata: {}, status: 'Failure', message: (err as Error).message, reason: 'InternalError' }),
  );
}

export function servePortForward(
  ws: WebSocket,
  pod: KubeObject,
  backend: PodBackend,
  query: URLSearchParams,
): void {
  const ports = query
    .getAll('ports')
    .flatMap((p) => p.split(','))
    .map(Number);
  const streams: (Duplex | undefined)[] = [];
  // What the client sends before the pod's port is connected waits for it (a TLS ClientHello does).
  const pending: Buffer[][] = ports.map(() => []);
  ws.on('message', (data: Buffer) => {
    const channel = data[0] ?? 0;
    if (channel % 2 !== 0) return;
    const stream = streams[channel / 2];
    if (stream) stream.write(data.subarray(1));
    else pending[channel / 2]?.push(data.subarray(1));
  });
  ws.on('close', () => {
    for (const s of streams) s?.destroy();
  });
  ports.forEach((port, i) => {
    const portBytes = Buffer.from([port & 0xff, (port >> 8) & 0xff]);
    ws.send(frame(2 * i, portBytes));
    ws.send(frame(2 * i + 1, portBytes));
    backend.portForward(podRef(pod), port).then(
      (stream) => {
        if (ws.readyState !== ws.OPEN) {
          stream.destroy();
          return;
        }
        streams[i] = stream;
        for (const chunk of pending[i] ?? []) stream.write(chunk);
        stream.on('data', (chunk: Buffer) => {
          if (ws.readyState === ws.OPEN) ws.send(frame(2 * i, chunk));
        });
        stream.on('end', () => ws.close(1000));
        stream.on('error', (err) => {
          if (ws.readyState === ws.OPEN) ws.send(frame(2 * i + 1, err.message));
          ws.close(1000);
        });
      },
      (err: unknown) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(
          frame(
            2 * i + 1,
            `error forwarding port ${port} to pod ${pod.metadata.name ?? ''}: ${(err as Error).message}`,
          ),
        );
        ws.close(1000);
      },
    );
  });
}
