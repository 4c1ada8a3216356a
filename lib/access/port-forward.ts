/**
 * A local TCP listener bridged to one port of a pod through the API server (what `kubectl
 * port-forward` does): every connection accepted on 127.0.0.1:<localPort> becomes one WebSocket
 * to `pods/<pod>/portforward`, through client-node's `PortForward`. etcd3/gRPC dials the local
 * address as if it were the member.
 *
 * A connection that fails leaves its reason behind (`lastError()`): a gRPC client only sees a
 * closed socket, the caller can then say that the user may not port-forward, or that nothing
 * listens on the member's port.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import type WebSocket from 'ws';
import { UnavailableError } from '../errors.js';
import { channelConnector } from './channel.js';

export interface PortForwardTarget {
  namespace: string;
  pod: string;
  port: number;
}

export interface ForwardedPort {
  readonly target: PortForwardTarget;
  /** The local port, on 127.0.0.1. */
  readonly localPort: number;
  /** Why the latest connection through this forward failed, if it did. */
  lastError(): Error | undefined;
  /** Stops listening and cuts every open connection. */
  close(): Promise<void>;
}

export async function forwardPort(kubeConfig: KubeConfig, target: PortForwardTarget): Promise<ForwardedPort> {
  const forwarder = new PortForward(kubeConfig, true, channelConnector(kubeConfig));
  const open = new Set<Connection>();
  let failure: Error | undefined;

  const server = createServer((socket) => {
    const connection: Connection = { socket };
    open.add(connection);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      open.delete(connection);
      connection.ws?.close();
    });
    const outcome = (err?: Error) => (failure = err);
    bridge(forwarder, target, connection, outcome).catch((err: Error) => {
      outcome(err);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    target,
    localPort: (server.address() as AddressInfo).port,
    lastError: () => failure,
    close: async () => {
      for (const { socket, ws } of open) {
        ws?.terminate();
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Connection {
  socket: Socket;
  ws?: WebSocket;
}

/**
 * Carries one accepted connection over its own WebSocket; rejects when the WebSocket cannot be
 * opened. `outcome` hears of the first data from the pod (success) and of an error the API server
 * reports on the error channel (it could not reach the pod's port). Data from the pod is paused
 * while the local socket is full.
 */
async function bridge(
  forwarder: PortForward,
  target: PortForwardTarget,
  connection: Connection,
  outcome: (err?: Error) => void,
): Promise<void> {
  const { socket } = connection;
  let errorText = '';
  let answered = false;
  let paused = false;
  const errors = new Writable({
    write(chunk: Buffer, _encoding, done) {
      errorText += chunk.toString('utf8');
      done();
    },
  });
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!answered) {
        answered = true;
        outcome();
      }
      const ws = connection.ws;
      if (!socket.write(chunk) && ws && !paused) {
        paused = true;
        ws.pause();
        socket.once('drain', () => {
          paused = false;
          ws.resume();
        });
      }
      done();
    },
  });
  // Without retries (retryCount 0) portForward resolves with the WebSocket itself.
  const ws = (await forwarder.portForward(
    target.namespace,
    target.pod,
    [target.port],
    output,
    errors,
    socket,
  )) as WebSocket;
  connection.ws = ws;
  if (socket.destroyed) ws.close();
  const closed = () => {
    if (errorText) {
      outcome(
        new UnavailableError(
          `cannot reach port ${target.port} of pod ${target.namespace}/${target.pod}: ${errorText.trim()}`,
        ),
      );
    }
    socket.destroy();
  };
  if (ws.readyState === ws.CLOSED) closed();
  else ws.once('close', closed);
}
