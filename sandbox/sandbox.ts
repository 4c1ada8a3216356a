/**
 * The whole sandbox in one call: the API server (with this project's CRDs) and the pod runtime as its
 * node. `stop()` stops both and leaves no process, network namespace, link or directory behind.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { crds } from '../generated/crds.js';
import { startApiServer } from './apiserver/server.js';
import type { ApiServer, ApiServerOptions } from './apiserver/types.js';
import { createPodRuntime, type PodRuntime, type PodRuntimeOptions } from './runtime/index.js';

export interface SandboxOptions {
  /** API server options; `podBackend` is the runtime's and the CRDs default to generated/crds.ts. */
  api?: Omit<ApiServerOptions, 'podBackend'>;
  runtime?: PodRuntimeOptions;
  /** Also write a kubeconfig (admin user) to this path, for kubectl and the plugin. */
  kubeconfigPath?: string;
}

export interface Sandbox {
  api: ApiServer;
  runtime: PodRuntime;
  /** A client configuration for the admin user. */
  kubeConfig: KubeConfig;
  kubeconfigPath?: string;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const runtime = await createPodRuntime(options.runtime);
  let api: ApiServer | undefined;
  try {
    api = await startApiServer({ crds, ...options.api, podBackend: runtime.backend });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig('admin'));
    if (options.kubeconfigPath) api.writeKubeconfig(options.kubeconfigPath, 'admin');
    await runtime.start(kubeConfig);
    const started = api;
    let stopped: Promise<void> | undefined;
    // The runtime first: it deletes its Node through the API and kills its pods.
    const stop = async () => {
      await runtime.stop();
      await started.stop();
    };
    return {
      api: started,
      runtime,
      kubeConfig,
      ...(options.kubeconfigPath ? { kubeconfigPath: options.kubeconfigPath } : {}),
      stop: () => (stopped ??= stop()),
    };
  } catch (err) {
    await runtime.stop();
    await api?.stop();
    throw err;
  }
}
