/** A sandbox API server for a test, stopped when the test ends, with client-node clients for it. */
import { KubeConfig } from '@kubernetes/client-node';
import {
  startApiServer,
  type ApiServer,
  type ApiServerOptions,
  type RequestFilter,
} from '../../sandbox/index.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export async function startTestApiServer(t: Teardown, options: ApiServerOptions = {}): Promise<ApiServer> {
  const server = await startApiServer(options);
  t.teardown(() => server.stop());
  return server;
}

/** A client-node KubeConfig for `user` of the server. */
export function kubeConfigFor(server: ApiServer, user = 'admin'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig(user));
  return kc;
}

/** Resolves once the server has answered `n` requests matching `filter` (e.g. the informer's second watch). */
export function requestsReach(server: ApiServer, filter: RequestFilter, n: number): Promise<true> {
  return eventually(() => (server.requests.count(filter) >= n ? true : undefined));
}

/** Polls `check` until it returns a value other than undefined (or throws after `attempts`). */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  attempts = 200,
): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not met');
}
