/**
 * One raw HTTPS request to an API server, trusting its CA and sending a bearer token. The answer is
 * returned whatever its status: callers here compare status codes and bodies, they do not want a
 * client that turns them into errors.
 */
import https from 'node:https';
import { UnavailableError } from '../../lib/errors.js';

export interface RawRequest {
  method?: string;
  /** Path and query, e.g. `/api/v1/namespaces?limit=1`. */
  path: string;
  token?: string;
  /** Sent as JSON unless it is a string. */
  body?: unknown;
  /** Default `application/json` when there is a body. */
  contentType?: string;
  /** More request headers (accept, …); they win over the defaults. */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the answer is one JSON document, else the text (a watch's lines, HTML, …). */
  body: unknown;
}

export function request(baseURL: string, caCert: string, req: RawRequest): Promise<RawResponse> {
  const url = new URL(req.path, baseURL);
  const payload =
    req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
  if (payload !== undefined) {
    headers['content-type'] = req.contentType ?? 'application/json';
    // Node sends no length with a DELETE body unless told, and the server would not read it.
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  Object.assign(headers, req.headers);
  return new Promise((resolve, reject) => {
    const r = https.request(
      url,
      { method: req.method ?? 'GET', ca: caCert, headers, timeout: req.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parseJson(text) });
        });
      },
    );
    r.on('timeout', () =>
      r.destroy(new UnavailableError(`${req.method ?? 'GET'} ${url.pathname}: no answer in time`)),
    );
    r.on('error', reject);
    r.end(payload);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
