/**
 * The sandbox API server as lib/kube's integration tests use it: users that are cluster admins (so
 * the request log can tell each client's requests apart), a namespace per test, and KubeClients.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, Namespaces } from '../../lib/kube/index.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../sandbox/index.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface KubeSandbox {
  server: ApiServer;
  kubeConfig(user?: string): KubeConfig;
  /** A client authenticated as `user`, closed when the test ends. */
  client(user?: string): KubeClient;
}

export async function startKubeSandbox(
  t: Teardown,
  users: string[] = [],
  options: ApiServerOptions = {},
): Promise<KubeSandbox> {
  const server = await startApiServer({
    ...options,
    users: Object.fromEntries(users.map((u) => [u, { groups: ['system:masters'] }])),
  });
  t.teardown(() => server.stop());
  const kubeConfig = (user = 'admin') => {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig(user));
    return kc;
  };
  return {
    server,
    kubeConfig,
    client: (user = 'admin') => {
      const client = new KubeClient(kubeConfig(user));
      t.teardown(() => client.close());
      return client;
    },
  };
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create(Namespaces, { metadata: { name } });
}

/** Polls `check` every 20 ms until it returns something other than undefined; fails after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
