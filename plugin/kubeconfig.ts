/**
 * The kubeconfig as kubectl reads it: `--kubeconfig`, else every file of KUBECONFIG merged (the
 * first file to name a cluster, user or context wins, as does the first current-context), else
 * ~/.kube/config, else the pod's service account. Then --context, --cluster and --user override.
 *
 * client-node's loadFromDefault() would fall back to http://localhost:8080 when nothing is found
 * and throw on names defined twice; here the first is a one-line error and the second a warning.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { UsageError } from '../lib/errors.js';

export interface KubeconfigRequest {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
}

/** What kubectl reads from the environment. */
export interface KubeconfigEnvironment {
  KUBECONFIG?: string;
  HOME?: string;
  KUBERNETES_SERVICE_HOST?: string;
}

export interface LoadedKubeconfig {
  kubeConfig: KubeConfig;
  /** The namespace of the context in use, if it names one. */
  namespace?: string;
  /** Names defined in more than one file; the first definition was used. */
  warnings: string[];
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeconfig(req: KubeconfigRequest, env: KubeconfigEnvironment): LoadedKubeconfig {
  const files = kubeconfigFiles(req, env);
  const kubeConfig = new KubeConfig();
  const warnings: string[] = [];
  if (files.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
      kubeConfig.loadFromCluster();
      return { kubeConfig, warnings };
    }
    throw new UsageError(
      `no kubeconfig: ${env.KUBECONFIG ? `none of KUBECONFIG (${env.KUBECONFIG}) exists` : `${defaultPath(env) ?? '~/.kube/config'} does not exist`}; pass --kubeconfig or set KUBECONFIG`,
    );
  }
  const merged = { clusters: [] as Cluster[], users: [] as User[], contexts: [] as Context[] };
  let currentContext: string | undefined;
  const origin = new Map<string, string>();
  for (const file of files) {
    const one = readFile(file);
    for (const [kind, list] of [
      ['cluster', one.clusters],
      ['user', one.users],
      ['context', one.contexts],
    ] as const) {
      for (const entry of list) {
        const key = `${kind} "${entry.name}"`;
        const first = origin.get(key);
        if (first !== undefined) {
          warnings.push(`${key} is in ${first} and ${file}: using the one in ${first}, as kubectl does`);
          continue;
        }
        origin.set(key, file);
        (merged[`${kind}s`] as { name: string }[]).push(entry);
      }
    }
    currentContext ??= one.currentContext || undefined;
  }
  const context = chooseContext(merged, req, currentContext);
  kubeConfig.loadFromOptions({ ...merged, currentContext: context.name });
  return { kubeConfig, ...(context.namespace ? { namespace: context.namespace } : {}), warnings };
}

/** The files to read, in order; only KUBECONFIG tolerates missing ones (kubectl's rule). */
function kubeconfigFiles(req: KubeconfigRequest, env: KubeconfigEnvironment): string[] {
  if (req.kubeconfig !== undefined) {
    if (!existsSync(req.kubeconfig)) {
      throw new UsageError(`--kubeconfig ${req.kubeconfig}: no such file; give the path of a kubeconfig`);
    }
    return [req.kubeconfig];
  }
  if (env.KUBECONFIG) {
    return [...new Set(env.KUBECONFIG.split(delimiter).filter((f) => f !== ''))].filter((f) => existsSync(f));
  }
  const home = defaultPath(env);
  return home && existsSync(home) ? [home] : [];
}

function defaultPath(env: KubeconfigEnvironment): string | undefined {
  return env.HOME ? join(env.HOME, '.kube', 'config') : undefined;
}

function readFile(file: string): KubeConfig {
  const one = new KubeConfig();
  try {
    one.loadFromFile(file);
  } catch (err) {
    const detail = ((err as Error).message.split('\n')[0] ?? '').trim();
    throw new UsageError(`kubeconfig ${file} cannot be read: ${detail}`, { cause: err });
  }
  return one;
}

/** The context in use, with --cluster and --user applied over it. */
function chooseContext(
  config: { clusters: Cluster[]; users: User[]; contexts: Context[] },
  req: KubeconfigRequest,
  current: string | undefined,
): Context {
  const name = req.context ?? current;
  let context: Context | undefined = config.contexts.find((c) => c.name === name);
  if (name !== undefined && !context) {
    throw new UsageError(`context "${name}" is not in the kubeconfig (contexts: ${names(config.contexts)})`);
  }
  if (!context) {
    if (req.cluster === undefined) {
      throw new UsageError('the kubeconfig has no current context: pass --context (or --cluster and --user)');
    }
    context = { name: 'kubectl-etcd', cluster: req.cluster, user: req.user ?? '' };
    config.contexts.push(context);
  }
  if (req.cluster !== undefined || req.user !== undefined) {
    context = { ...context, cluster: req.cluster ?? context.cluster, user: req.user ?? context.user };
    config.contexts.splice(
      config.contexts.findIndex((c) => c.name === context!.name),
      1,
      context,
    );
  }
  if (!config.clusters.some((c) => c.name === context.cluster)) {
    throw new UsageError(
      `cluster "${context.cluster}" is not in the kubeconfig (clusters: ${names(config.clusters)})`,
    );
  }
  if (context.user !== '' && !config.users.some((u) => u.name === context.user)) {
    throw new UsageError(`user "${context.user}" is not in the kubeconfig (users: ${names(config.users)})`);
  }
  return context;
}

function names(list: { name: string }[]): string {
  return list.map((e) => e.name).join(', ') || 'none';
}
