/**
 * The one switch between the sandbox API server and a real kube-apiserver for integration and
 * end-to-end tests: TEST_APISERVER=sandbox (the default) or TEST_APISERVER=real. Tests call
 * startTargetApiServer() / startTargetSandbox() instead of startApiServer() / startSandbox() and
 * run unchanged against either; whatever they start is stopped when the test ends.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { crds } from '../../generated/crds.js';
import { UsageError } from '../../lib/errors.js';
import { cacheDir } from '../../sandbox/binaries.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../sandbox/index.js';
import {
  startRealApiServer,
  type RealApiServer,
  type RealApiServerOptions,
} from '../../sandbox/real/index.js';
import { createPodRuntime } from '../../sandbox/runtime/index.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/sandbox.js';

export type ApiServerTarget = 'sandbox' | 'real';

/** A server of either kind; `target` says which, `requests` and `faults` exist on the sandbox only. */
export type TargetApiServer = (ApiServer & { target: 'sandbox' }) | (RealApiServer & { target: 'real' });

/** API server and pod runtime: startSandbox()'s result, or the same runtime attached to a real server. */
export type TargetSandbox =
  (Sandbox & { target: 'sandbox' }) | (Omit<Sandbox, 'api'> & { api: RealApiServer; target: 'real' });

/** Options only the sandbox can honour: a real server has its own clock, watch cache and admission. */
const SANDBOX_ONLY = ['podBackend', 'historyWindow', 'clock', 'admission', 'bookmarkIntervalMs'] as const;

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** The target TEST_APISERVER names; anything but `sandbox`, `real` or unset is a UsageError. */
export function apiServerTarget(env: NodeJS.ProcessEnv = process.env): ApiServerTarget {
  const value = env.TEST_APISERVER ?? 'sandbox';
  if (value === 'sandbox' || value === 'real') return value;
  throw new UsageError(`TEST_APISERVER must be "sandbox" or "real", not ${JSON.stringify(value)}`);
}

/**
 * Starts the API server TEST_APISERVER names. With `real`, a missing kube-apiserver build fails the
 * test with the command that builds it (never a silent skip), and so does an option only the
 * sandbox has. `env` also gives the binary cache (ETCD_K8S_CACHE).
 */
export async function startTargetApiServer(
  t: Teardown,
  options: ApiServerOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<TargetApiServer> {
  const server: TargetApiServer =
    apiServerTarget(env) === 'sandbox'
      ? Object.assign(await startApiServer(options), { target: 'sandbox' as const })
      : Object.assign(await startRealApiServer(realOptions(options, env)), { target: 'real' as const });
  t.teardown(() => server.stop());
  return server;
}

/**
 * startSandbox() on the target TEST_APISERVER names. On `real` the runtime is the node of a real
 * kube-apiserver: pods are bound, run and reported, but exec, port-forward and logs through the
 * API server fail (it proxies them to a kubelet API on https://NODE:10250, which the runtime lacks).
 */
export async function startTargetSandbox(
  t: Teardown,
  options: SandboxOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<TargetSandbox> {
  if (apiServerTarget(env) === 'sandbox') {
    const sandbox = await startSandbox(options);
    t.teardown(() => sandbox.stop());
    return Object.assign(sandbox, { target: 'sandbox' as const });
  }
  const runtime = await createPodRuntime(options.runtime);
  const api = await startRealApiServer({ crds, ...realOptions(options.api ?? {}, env) }).catch(
    async (err: unknown) => {
      await runtime.stop();
      throw err;
    },
  );
  let stopped: Promise<void> | undefined;
  // The runtime first: it deletes its Node and kills its pods while the API still answers.
  const stop = () => (stopped ??= runtime.stop().then(() => api.stop()));
  t.teardown(stop);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(api.kubeconfig('admin'));
  if (options.kubeconfigPath) api.writeKubeconfig(options.kubeconfigPath, 'admin');
  await runtime.start(kubeConfig);
  const { kubeconfigPath } = options;
  return { api, runtime, kubeConfig, ...(kubeconfigPath ? { kubeconfigPath } : {}), stop, target: 'real' };
}

/** The real server's options from the sandbox's; a UsageError names what only the sandbox can do. */
function realOptions(options: ApiServerOptions, env: NodeJS.ProcessEnv): RealApiServerOptions {
  const unsupported: string[] = SANDBOX_ONLY.filter((o) => options[o] !== undefined);
  if (options.tls === false) unsupported.push('tls: false');
  if (unsupported.length > 0) {
    throw new UsageError(
      `TEST_APISERVER=real cannot honour ${unsupported.join(', ')}: this test needs the sandbox (call startApiServer directly)`,
    );
  }
  const { port, host, users } = options;
  return { port, host, users, ...(options.crds ? { crds: options.crds } : {}), cache: cacheDir(env) };
}
