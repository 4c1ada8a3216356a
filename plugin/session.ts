/**
 * What a command that talks to a cluster works with: the kubeconfig chosen by the global flags, a
 * KubeClient, the namespace, and a way to reach a cluster's members. Loaded only by the commands
 * that need it (it pulls in client-node and etcd3).
 */
import {
  connectEtcd,
  findTarget,
  listTargets,
  type EtcdConnection,
  type EtcdTarget,
} from '../lib/access/index.js';
import { UsageError } from '../lib/errors.js';
import { KubeClient } from '../lib/kube/client.js';
import { VERSION } from '../lib/version.js';
import { loadKubeconfig } from './kubeconfig.js';
import { parseRequestTimeout, type GlobalArgs } from './options.js';
import type { KubeConfig } from '@kubernetes/client-node';

export interface Session {
  kubeConfig: KubeConfig;
  kube: KubeClient;
  namespace: string;
  allNamespaces: boolean;
  /** --request-timeout, when given. */
  requestTimeoutMs?: number;
  /** The clusters a command is about: the one named, else every one in scope. */
  targets(name?: string, signal?: AbortSignal): Promise<EtcdTarget[]>;
  /** The one named; a usage error when none is. */
  target(name: string | undefined, signal?: AbortSignal): Promise<EtcdTarget>;
  connect(
    target: EtcdTarget,
    options?: { signal?: AbortSignal; defragmentTimeoutMs?: number },
  ): Promise<EtcdConnection>;
  close(): void;
}

export function openSession(args: GlobalArgs): Session {
  const { kubeConfig, namespace, warnings } = loadKubeconfig(args, process.env);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const requestTimeoutMs = parseRequestTimeout(args.requestTimeout);
  const kube = new KubeClient(kubeConfig, {
    userAgent: `kubectl-etcd/${VERSION}`,
    ...(requestTimeoutMs !== undefined ? { idleTimeoutMs: requestTimeoutMs } : {}),
  });
  const ns = args.namespace ?? namespace ?? 'default';
  const allNamespaces = args.allNamespaces ?? false;
  const session: Session = {
    kubeConfig,
    kube,
    namespace: ns,
    allNamespaces,
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
    async targets(name, signal) {
      if (name !== undefined) return [await findTarget(kube, { namespace: ns, name, signal })];
      return listTargets(kube, { ...(allNamespaces ? {} : { namespace: ns }), signal });
    },
    async target(name, signal) {
      if (name === undefined) throw new UsageError('name the cluster: kubectl etcd <command> CLUSTER');
      return findTarget(kube, { namespace: ns, name, signal });
    },
    connect: (target, options = {}) =>
      connectEtcd({
        kubeConfig,
        kube,
        target,
        transport: args.transport,
        ...(requestTimeoutMs !== undefined ? { timeoutMs: requestTimeoutMs } : {}),
        ...options,
      }),
    close: () => kube.close(),
  };
  return session;
}
