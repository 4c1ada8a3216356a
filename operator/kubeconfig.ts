/**
 * Which Kubernetes configuration the operator uses: --kubeconfig, else $KUBECONFIG, else the pod's
 * service account, else ~/.kube/config. client-node's loadFromDefault() would fall back silently
 * to http://localhost:8080; here no configuration is an error that says what was tried.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from '../lib/errors.js';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ResolvedKubeConfig {
  kubeConfig: KubeConfig;
  /** Where it came from, for the log. */
  source: string;
  /** The pod's namespace when running in a cluster. */
  podNamespace?: string;
}

/** `root` prefixes the service-account paths (as client-node's loadFromCluster does), for tests. */
export function resolveKubeConfig(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  { root = '', home = homedir() }: { root?: string; home?: string } = {},
): ResolvedKubeConfig {
  const kubeConfig = new KubeConfig();
  const load = (files: string[], source: string): ResolvedKubeConfig => {
    const [first, ...rest] = files;
    if (first === undefined) throw new UsageError(`${source} names no file`);
    for (const file of files)
      if (!existsSync(file)) throw new UsageError(`${source}: ${file} does not exist`);
    kubeConfig.loadFromFile(first);
    for (const file of rest) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kubeConfig.mergeConfig(more);
    }
    if (!kubeConfig.getCurrentCluster()) throw new UsageError(`${source}: no current context with a cluster`);
    return { kubeConfig, source: `${source} (${files.join(delimiter)})` };
  };
  if (flag) return load([flag], '--kubeconfig');
  if (env.KUBECONFIG) return load(env.KUBECONFIG.split(delimiter).filter(Boolean), '$KUBECONFIG');
  const token = `${root}${SERVICE_ACCOUNT}/token`;
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(token)) {
    // loadFromCluster reads the service host and port from process.env itself.
    kubeConfig.loadFromCluster(root);
    const namespaceFile = `${root}${SERVICE_ACCOUNT}/namespace`;
    return {
      kubeConfig,
      source: 'the pod service account',
      podNamespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined,
    };
  }
  const homeConfig = join(home, '.kube', 'config');
  if (existsSync(homeConfig)) return load([homeConfig], '~/.kube/config');
  throw new UsageError(
    'no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a pod with a service ' +
      `account token (${token}), or create ${homeConfig}`,
  );
}
