/**
 * Raw HTTP to the API server with a KubeConfig's credentials, in plain JSON. One keep-alive agent
 * serves every request; credentials (which may rotate: token files, exec plugins) are asked of the
 * KubeConfig per request.
 */
import http from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import type { KubeConfig } from '@kubernetes/client-node';
import { UnavailableError, UsageError } from '../errors.js';
import { apiError } from './api-errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: Method;
  /** Path below the cluster's server URL, e.g. `/api/v1/namespaces/x/pods`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** The longest the connection may stay silent. */
  idleTimeoutMs?: number;
}

export interface TransportOptions {
  userAgent?: string;
  /** Default idle timeout of a request (30 s). */
  idleTimeoutMs?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

export class Transport {
  readonly server: string;
  private agent: http.Agent | undefined;
  private readonly userAgent: string;
  private readonly idleTimeoutMs: number;

  constructor(
    private readonly kubeConfig: KubeConfig,
    options: TransportOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new UsageError('the kubeconfig has no current context with a cluster');
    this.server = cluster.server.replace(/\/+$/, '');
    this.userAgent = options.userAgent ?? 'etcd-k8s-operator';
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** Sends the request and returns the parsed JSON answer; a non-2xx answer throws its typed error. */
  async json(req: HttpRequest): Promise<unknown> {
    const res = await this.send(req);
    const text = await readAll(res, req);
    const body = parseJson(text);
    if (res.statusCode === undefined || res.statusCode >= 300)
      throw apiError(res.statusCode ?? 0, body, describe(req));
    return body;
  }

  /**
   * Sends a streaming request and calls `onLine` for each line of the answer until the server ends it
   * (resolves) or the connection fails (rejects). An aborted `signal` ends it quietly.
   */
  async lines(req: HttpRequest, onLine: (line: string) => void): Promise<void> {
    const res = await this.send(req);
    if (res.statusCode === undefined || res.statusCode >= 300) {
      throw apiError(res.statusCode ?? 0, parseJson(await readAll(res, req)), describe(req));
    }
    const chunks = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const decoder = new StringDecoder('utf8');
    let pending = '';
    try {
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (err) {
          if (req.signal?.aborted) return;
          throw unavailable(this.server, err);
        }
        if (next.done) break;
        const lines = (pending + decoder.write(next.value)).split('\n');
        pending = lines.pop() ?? '';
        // onLine may throw (a watch ERROR event): that ends the stream with its error, unwrapped.
        for (const line of lines) if (line.trim() !== '') onLine(line);
      }
    } finally {
      res.destroy();
    }
    if (!res.complete && !req.signal?.aborted)
      throw unavailable(this.server, new Error('connection closed early'));
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private async send(req: HttpRequest): Promise<http.IncomingMessage> {
    const url = new URL(this.server + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const options: https.RequestOptions = { method: req.method, headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(options);
    const headers: http.OutgoingHttpHeaders = {
      ...(options.headers as http.OutgoingHttpHeaders),
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    if (payload !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const lib = url.protocol === 'https:' ? https : http;
    const request = lib.request(url, {
      method: req.method,
      headers,
      auth: options.auth,
      agent: this.agentFor(url, options),
      signal: req.signal,
    });
    return new Promise((resolve, reject) => {
      request.setTimeout(req.idleTimeoutMs ?? this.idleTimeoutMs, () =>
        request.destroy(new Error(`no answer within ${req.idleTimeoutMs ?? this.idleTimeoutMs} ms`)),
      );
      request.once('response', resolve);
      request.once('error', (err) => reject(unavailable(this.server, err)));
      request.end(payload);
    });
  }

  /** A proxy agent comes from client-node as is; otherwise one keep-alive agent with its TLS settings. */
  private agentFor(url: URL, options: https.RequestOptions): http.Agent | undefined {
    if (this.kubeConfig.getCurrentCluster()?.proxyUrl) return options.agent as http.Agent | undefined;
    if (!this.agent) {
      const tls: https.AgentOptions = {};
      for (const key of TLS_KEYS) if (options[key] !== undefined) Object.assign(tls, { [key]: options[key] });
      this.agent =
        url.protocol === 'https:'
          ? new https.Agent({ ...tls, keepAlive: true })
          : new http.Agent({ keepAlive: true });
    }
    return this.agent;
  }
}

function describe(req: HttpRequest): string {
  return `${req.method} ${req.path}`;
}

function unavailable(server: string, err: unknown): UnavailableError {
  const code = (err as NodeJS.ErrnoException).code;
  const detail = code ?? (err instanceof Error ? err.message : String(err));
  return new UnavailableError(`cannot reach the API server at ${server}: ${detail}`, { cause: err });
}

async function readAll(res: http.IncomingMessage, req: HttpRequest): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch (err) {
    throw new UnavailableError(`the answer to ${describe(req)} was cut off`, { cause: err });
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
