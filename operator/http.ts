/**
 * The operator's HTTP endpoints: /healthz and /readyz for the kubelet's probes, /metrics for
 * Prometheus. Endpoints given the same address share one server.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Address } from './config.js';

export type Route = () => Promise<{ status: number; contentType: string; body: string }>;

export interface Endpoint {
  address: Address;
  routes: Record<string, Route>;
}

/** A probe route: 200 `ok` when `check()` holds, else 503 with the reason. */
export function probe(check: () => string | undefined): Route {
  return () => {
    const problem = check();
    return Promise.resolve(
      problem === undefined
        ? { status: 200, contentType: 'text/plain', body: 'ok\n' }
        : { status: 503, contentType: 'text/plain', body: `${problem}\n` },
    );
  };
}

export function metricsRoute(registry: Registry): Route {
  return async () => ({ status: 200, contentType: registry.contentType, body: await registry.metrics() });
}

/** Starts one server per distinct address; resolves with them once all listen. */
export async function serveEndpoints(endpoints: Endpoint[]): Promise<Server[]> {
  const byAddress = new Map<string, Endpoint>();
  for (const { address, routes } of endpoints) {
    const key = `${address.host ?? ''}:${address.port}`;
    const shared = byAddress.get(key);
    byAddress.set(key, { address, routes: { ...shared?.routes, ...routes } });
  }
  return Promise.all([...byAddress.values()].map(listen));
}

async function listen({ address, routes }: Endpoint): Promise<Server> {
  const server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      reply(res, 404, 'text/plain', 'not found\n');
      return;
    }
    route().then(
      ({ status, contentType, body }) => reply(res, status, contentType, body),
      (err: unknown) =>
        reply(res, 500, 'text/plain', `${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return server;
}

function reply(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType });
  res.end(body);
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export async function closeServers(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}
