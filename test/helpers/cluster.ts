/**
 * End-to-end helpers for EtcdClusters: create one, wait until it matches its spec, a writer that
 * writes a key every 10 ms and remembers every write etcd acknowledged, and a claim for backups.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Etcd3 } from 'etcd3';
import type { EtcdCluster } from '../../lib/api/index.js';
import type { KubeClient } from '../../lib/kube/index.js';
import { EtcdClusters, Namespaces, PersistentVolumeClaims, Pods } from '../../lib/kube/index.js';
import { etcdClient } from './etcd-client.js';
import { eventually } from './sandbox.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export async function createCluster(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await client
    .create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
    .catch(() => undefined);
  await client.create(EtcdClusters, {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name, namespace },
    spec,
  } as unknown as EtcdCluster);
}

/** A 1Gi ReadWriteOnce claim, such as a volume backup stores in. */
export async function createClaim(client: KubeClient, namespace: string, name: string): Promise<void> {
  await client.create(PersistentVolumeClaims, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
}

/**
 * Waits until the cluster matches its spec: Running, `size` healthy voting members, no learner,
 * one running pod per member and nothing else.
 */
export async function converged(
  client: KubeClient,
  namespace: string,
  name: string,
  size: number,
  timeoutMs = 180_000,
): Promise<EtcdCluster> {
  return eventually(
    `${name} to converge to ${size} members`,
    async () => {
      const c = await client.get(EtcdClusters, { namespace, name });
      const members = c.status?.members ?? [];
      const pods = await client.list(Pods, {
        namespace,
        labelSelector: { matchLabels: { 'etcd.io/cluster': name } },
      });
      const running = pods.items.filter(
        (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp,
      );
      const ok =
        c.status?.phase === 'Running' &&
        c.status.observedGeneration === c.metadata.generation &&
        members.length === size &&
        members.every((m) => m.healthy && !m.isLearner) &&
        pods.items.length === size &&
        running.length === size;
      return ok ? c : undefined;
    },
    timeoutMs,
  );
}

export interface Writer {
  /** Keys etcd acknowledged, in order. */
  acknowledged: string[];
  failures: number;
  stop(): Promise<void>;
  /** The acknowledged keys a fresh client cannot read back. */
  missing(): Promise<string[]>;
}

/**
 * Writes `w-000001`, `w-000002`, … every 10 ms until stopped; a write counts only once etcd has
 * acknowledged it. On errors (a member went away) it reconnects to the pods that exist now.
 */
export function startWriter(t: Teardown, kubeConfig: KubeConfig, namespace: string, cluster: string): Writer {
  const acknowledged: string[] = [];
  let failures = 0;
  let running = true;
  let client: Etcd3 | undefined;
  const connect = async () => {
    client?.close();
    client = await etcdClient(kubeConfig, namespace, cluster);
    return client;
  };
  const loop = (async () => {
    let n = 0;
    while (running) {
      const key = `w-${String(++n).padStart(6, '0')}`;
      try {
        await (client ?? (await connect())).put(key).value(String(n));
        acknowledged.push(key);
      } catch {
        failures++;
        await connect().catch(() => undefined);
      }
      await sleep(10);
    }
  })();
  const stop = async () => {
    running = false;
    await loop;
    client?.close();
  };
  t.teardown(stop);
  return {
    acknowledged,
    get failures() {
      return failures;
    },
    stop,
    missing: async () => {
      const reader = await etcdClient(kubeConfig, namespace, cluster);
      try {
        const stored = new Set(await reader.getAll().prefix('w-').keys());
        return acknowledged.filter((k) => !stored.has(k));
      } finally {
        reader.close();
      }
    },
  };
}
