/**
 * The WebSocket under exec and port-forward. client-node's `Exec` and `PortForward` speak the
 * channel protocol over a connection opened here, so that a refused upgrade becomes the library's
 * typed error carrying the API server's own words (`pods "x" is forbidden: User "bob" cannot create
 * resource "pods/portforward" …`) rather than ws's `Unexpected server response: 403`.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { KubeConfig, PortForward } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { UnavailableError, UsageError } from '../errors.js';
import { apiError } from '../kube/api-errors.js';

/** What client-node's Exec and PortForward connect through (its `WebSocketInterface`). */
export type ChannelConnector = NonNullable<ConstructorParameters<typeof PortForward>[2]>;

/** The channel protocols client-node understands, newest first. */
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io'];

export function channelConnector(kubeConfig: KubeConfig): ChannelConnector {
  return {
    async connect(path, _textHandler, binaryHandler) {
      const server = kubeConfig.getCurrentCluster()?.server.replace(/\/+$/, '');
      if (!server) throw new UsageError('the kubeconfig has no current context with a cluster');
      const options: RequestOptions = {};
      await kubeConfig.applyToHTTPSOptions(options);
      const ws = new WebSocket(`${server.replace(/^http/, 'ws')}${path}`, PROTOCOLS, options);
      return new Promise<WebSocket>((resolve, reject) => {
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => {
          void refusal(res, path).then((err) => {
            reject(err);
            ws.terminate();
          });
        });
        ws.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            new UnavailableError(`cannot reach the API server at ${server}: ${err.code ?? err.message}`, {
              cause: err,
            }),
          ),
        );
        ws.on('message', (data: Buffer, isBinary) => {
          if (!isBinary || data.length === 0 || !binaryHandler) return;
          if (!binaryHandler(data[0]!, data.subarray(1))) ws.close();
        });
      });
    },
  };
}

/** The typed error for an upgrade the API server answered with a Status instead of 101. */
async function refusal(res: IncomingMessage, path: string): Promise<Error> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch {
    // The status code alone still says what happened.
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not a Status: apiError names the request instead.
  }
  return apiError(res.statusCode ?? 0, body, `upgrade ${path.split('?')[0] ?? path}`);
}
