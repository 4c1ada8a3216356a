/**
 * The names completion offers, read from the kubeconfig and the cluster the words typed so far
 * point at. Loaded only when completing.
 */
import { findTarget, listTargets, readEtcdFlags } from '../lib/access/index.js';
import { EtcdBackups, Namespaces } from '../lib/kube/resources.js';
import { lookupArgs, type LookupKind } from './completion.js';
import { loadKubeconfig } from './kubeconfig.js';
import { openSession } from './session.js';

export async function lookup(
  kind: LookupKind,
  words: readonly string[],
  cluster?: string,
): Promise<string[]> {
  const args = lookupArgs(words);
  if (kind === 'context' || kind === 'kubeconfig-cluster' || kind === 'user') {
    const { kubeConfig } = loadKubeconfig(
      { ...args, context: undefined, cluster: undefined, user: undefined },
      process.env,
    );
    const lists = {
      context: kubeConfig.getContexts(),
      'kubeconfig-cluster': kubeConfig.getClusters(),
      user: kubeConfig.getUsers(),
    };
    return lists[kind].map((e) => e.name);
  }
  const session = openSession({ ...args, output: 'table', transport: 'auto' });
  try {
    if (kind === 'namespace')
      return (await session.kube.list(Namespaces)).items.map((n) => n.metadata?.name ?? '');
    if (kind === 'cluster') {
      return (await listTargets(session.kube, { namespace: session.namespace })).map((t) => t.name);
    }
    if (kind === 'backup') {
      return (await session.kube.list(EtcdBackups, { namespace: session.namespace })).items.map(
        (b) => b.metadata.name ?? '',
      );
    }
    if (cluster === undefined) return [];
    const target = await findTarget(session.kube, { namespace: session.namespace, name: cluster });
    return target.pods.map((p) => readEtcdFlags(p)?.name ?? p.metadata?.name ?? '');
  } finally {
    session.close();
  }
}
