/**
 * The API side of the node: a real client of the API server (client-node). It watches Pods and what
 * they need (Services, Secrets, ConfigMaps, claims), binds unbound pods to its node, binds claims to a
 * directory each, runs its pods through PodWorkers, reports their status through `pods/status`, keeps
 * every pod's hosts file in step with the cluster, records Events, and completes graceful deletion.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1ConfigMap,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1PodStatus,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import type { RestartPolicy } from './backoff.js';
import { clusterRecords, hostsFile } from './hosts.js';
import type { RuntimeLogger } from './logger.js';
import type { ClusterView, PodWorker } from './pod-worker.js';
import { podStatus } from './status.js';

export interface KubeletOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  /** Where claim directories live: `<claimsDir>/<namespace>/<name>-<uid>`. */
  claimsDir: string;
  clusterDomain: string;
  hostIP: string;
  logger: RuntimeLogger;
  /** Makes (but does not start) the worker of a pod bound to this node. */
  newWorker(pod: V1Pod, kubelet: Kubelet): PodWorker;
}

type Cache<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
const RETRY_MS = 1000;

function isApiError(err: unknown, code: number): boolean {
  return (err as { code?: number } | undefined)?.code === code;
}

export class Kubelet {
  readonly workers = new Map<string, PodWorker>();
  private readonly core: CoreV1Api;
  private readonly pods: Cache<V1Pod>;
  private readonly services: Cache<V1Service>;
  private readonly secrets: Cache<V1Secret>;
  private readonly configMaps: Cache<V1ConfigMap>;
  private readonly claims: Cache<V1PersistentVolumeClaim>;
  private stopped = false;
  private readonly deleting = new Set<string>();
  private readonly statusSent = new Map<string, V1PodStatus>();
  private readonly statusBusy = new Map<string, boolean>();
  private readonly hostsWritten = new Map<string, string>();
  private readonly binding = new Set<string>();

  constructor(private readonly options: KubeletOptions) {
    const kc = options.kubeConfig;
    const core = (this.core = kc.makeApiClient(CoreV1Api));
    this.pods = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    this.services = makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
    this.secrets = makeInformer(kc, '/api/v1/secrets', () => core.listSecretForAllNamespaces());
    this.configMaps = makeInformer(kc, '/api/v1/configmaps', () => core.listConfigMapForAllNamespaces());
    this.claims = makeInformer(kc, '/api/v1/persistentvolumeclaims', () =>
      core.listPersistentVolumeClaimForAllNamespaces(),
    );
  }

  /** What pods may read, from the caches. */
  readonly cluster: ClusterView = {
    secret: (ns, name) => decodeSecret(this.secrets.get(name, ns)),
    configMap: (ns, name) => textOf(this.configMaps.get(name, ns)),
    claimDir: (ns, name) => {
      const claim = this.claims.get(name, ns);
      if (claim?.status?.phase !== 'Bound' || claim.metadata?.deletionTimestamp) return undefined;
      const dir = this.claimPath(claim);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
  };

  async start(): Promise<void> {
    const caches: Cache<KubernetesObject>[] = [
      this.services,
      this.secrets,
      this.configMaps,
      this.claims,
      this.pods,
    ];
    for (const cache of caches) {
      cache.on('error', (err: unknown) => {
        if (this.stopped) return;
        this.options.logger.warn({ err }, 'watch failed; restarting');
        setTimeout(() => void cache.start().catch(() => undefined), RETRY_MS);
      });
    }
    this.claims.on('add', (c) => this.syncClaim(c));
    this.claims.on('update', (c) => this.syncClaim(c));
    this.claims.on('delete', (c) => rmSync(this.claimPath(c), { recursive: true, force: true }));
    const refresh = () => this.refreshVolumes();
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.secrets.on(verb, refresh);
      this.configMaps.on(verb, refresh);
      this.services.on(verb, () => this.writeHosts());
    }
    this.pods.on('add', (p) => this.syncPod(p));
    this.pods.on('update', (p) => this.syncPod(p));
    this.pods.on('delete', (p) => this.podGone(p));
    // Pods last, so that what they refer to is in the caches when they start.
    for (const cache of caches) await cache.start();
    await this.registerNode();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const cache of [this.pods, this.services, this.secrets, this.configMaps, this.claims])
      await cache.stop();
    await Promise.all([...this.workers.values()].map((w) => w.terminate(0)));
    this.workers.clear();
    await this.core.deleteNode({ name: this.options.nodeName }).catch(() => undefined);
  }

  /** The directory of a claim, whether or not bound yet. */
  claimPath(claim: V1PersistentVolumeClaim): string {
    const { namespace = 'default', name = '', uid = '' } = claim.metadata ?? {};
    return join(this.options.claimsDir, namespace, `${name}-${uid}`);
  }

  claim(namespace: string, name: string): V1PersistentVolumeClaim | undefined {
    return this.claims.get(name, namespace);
  }

  /** Rewrites each pod's hosts file where the cluster's names changed. Synchronous. */
  writeHosts(): void {
    const ipOf = (pod: V1Pod) => this.workers.get(pod.metadata?.uid ?? '')?.ip ?? pod.status?.podIP;
    const records = clusterRecords(this.pods.list(), this.services.list(), ipOf);
    for (const worker of this.workers.values()) {
      const net = worker.net;
      if (!net) continue;
      const content = hostsFile(worker.pod, net.ip, records, this.options.clusterDomain);
      if (this.hostsWritten.get(net.hostsPath) === content) continue;
      // In place: the file is bind-mounted into running containers, which a rename would not reach.
      try {
        writeFileSync(net.hostsPath, content);
      } catch (err) {
        // The pod's network is being torn down: it needs no names any more.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      this.hostsWritten.set(net.hostsPath, content);
    }
  }

  /** Records an Event about a pod (best effort, as the kubelet's recorder). */
  event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.stopped) return;
    const { name = '', namespace = 'default', uid } = pod.metadata ?? {};
    const now = new Date();
    this.core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', name, namespace, ...(uid ? { uid } : {}) },
          reason,
          message,
          type,
          source: { component: 'kubelet', host: this.options.nodeName },
          reportingComponent: 'kubelet',
          reportingInstance: this.options.nodeName,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((err: unknown) => this.options.logger.debug({ err, reason }, 'event not recorded'));
  }

  /** Reports a worker's status (coalesced: one write in flight per pod, the latest record wins). */
  reportStatus(worker: PodWorker): void {
    const uid = worker.uid;
    if (this.statusBusy.has(uid)) {
      this.statusBusy.set(uid, true);
      return;
    }
    this.statusBusy.set(uid, false);
    void this.writeStatus(worker)
      .catch((err: unknown) => this.options.logger.warn({ err, pod: worker.key }, 'status not written'))
      .finally(() => {
        const again = this.statusBusy.get(uid);
        this.statusBusy.delete(uid);
        if (again && !this.stopped) this.reportStatus(worker);
      });
  }

  private async writeStatus(worker: PodWorker): Promise<void> {
    const uid = worker.uid;
    const policy = (worker.pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
    const status = podStatus(
      worker.record,
      policy,
      this.statusSent.get(uid) ?? worker.pod.status,
      new Date(),
    );
    if (JSON.stringify(status) === JSON.stringify(this.statusSent.get(uid))) return;
    let pod = this.pods.get(worker.pod.metadata?.name ?? '', worker.pod.metadata?.namespace) ?? worker.pod;
    for (let attempt = 0; attempt < 5 && !this.stopped; attempt++) {
      if (pod.metadata?.uid !== uid) return;
      const { name = '', namespace = 'default' } = pod.metadata ?? {};
      try {
        await this.core.replaceNamespacedPodStatus({ name, namespace, body: { ...pod, status } });
        this.statusSent.set(uid, status);
        return;
      } catch (err) {
        if (isApiError(err, 404)) return;
        if (!isApiError(err, 409)) throw err;
        pod = await this.core.readNamespacedPod({ name, namespace });
      }
    }
  }

  private syncPod(pod: V1Pod): void {
    if (this.stopped) return;
    const { uid = '', deletionTimestamp } = pod.metadata ?? {};
    if (!pod.spec?.nodeName) {
      if (!deletionTimestamp) void this.bind(pod);
      return;
    }
    if (pod.spec.nodeName !== this.options.nodeName) return;
    let worker = this.workers.get(uid);
    if (worker) worker.update(pod);
    else if (!deletionTimestamp && !['Succeeded', 'Failed'].includes(pod.status?.phase ?? '')) {
      worker = this.options.newWorker(pod, this);
      this.workers.set(uid, worker);
      worker.start();
    }
    if (deletionTimestamp) void this.finishDeletion(pod, worker);
    this.writeHosts();
  }

  /** Graceful deletion: stop the pod within its grace period, then remove it from the API. */
  private async finishDeletion(pod: V1Pod, worker: PodWorker | undefined): Promise<void> {
    const { uid = '', name = '', namespace = 'default' } = pod.metadata ?? {};
    if (this.deleting.has(uid)) return;
    this.deleting.add(uid);
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    await worker?.terminate(grace);
    try {
      await this.core.deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (err) {
      if (!isApiError(err, 404) && !isApiError(err, 409)) {
        this.options.logger.warn({ err, pod: `${namespace}/${name}` }, 'final delete failed');
      }
    }
    this.forget(uid);
  }

  private podGone(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const worker = this.workers.get(uid);
    if (worker) void worker.terminate(0).then(() => this.forget(uid));
    this.writeHosts();
    this.releaseClaims();
  }

  private forget(uid: string): void {
    this.workers.delete(uid);
    this.statusSent.delete(uid);
    this.deleting.delete(uid);
    this.writeHosts();
    this.releaseClaims();
  }

  private async bind(pod: V1Pod): Promise<void> {
    const { uid = '', name = '', namespace = 'default' } = pod.metadata ?? {};
    if (this.binding.has(uid)) return;
    this.binding.add(uid);
    try {
      await this.core.createNamespacedPodBinding({
        name,
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace, uid },
          target: { apiVersion: 'v1', kind: 'Node', name: this.options.nodeName },
        },
      });
    } catch (err) {
      if (!isApiError(err, 409) && !isApiError(err, 404)) {
        this.options.logger.warn({ err, pod: `${namespace}/${name}` }, 'binding failed');
        this.binding.delete(uid);
      }
    }
  }

  /** A pending claim is bound to a directory of its own; a deleted one lets go of its protection. */
  private syncClaim(claim: V1PersistentVolumeClaim): void {
    if (this.stopped) return;
    if (claim.metadata?.deletionTimestamp) return this.releaseClaims();
    if (claim.status?.phase === 'Bound') return;
    mkdirSync(this.claimPath(claim), { recursive: true });
    const { name = '', namespace = 'default' } = claim.metadata ?? {};
    const storage = claim.spec?.resources?.requests?.storage ?? '1Gi';
    this.core
      .replaceNamespacedPersistentVolumeClaimStatus({
        name,
        namespace,
        body: {
          ...claim,
          status: {
            phase: 'Bound',
            accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
            capacity: { storage },
          },
        },
      })
      .catch((err: unknown) => {
        // A conflict means a newer version is on its way through the watch, which retries.
        if (!isApiError(err, 409))
          this.options.logger.warn({ err, claim: `${namespace}/${name}` }, 'claim not bound');
      });
  }

  /** Removes the pvc-protection finalizer from deleted claims no running pod uses (what the controller does). */
  private releaseClaims(): void {
    if (this.stopped) return;
    for (const claim of this.claims.list()) {
      const { name = '', namespace = 'default', finalizers = [] } = claim.metadata ?? {};
      if (!claim.metadata?.deletionTimestamp || !finalizers.includes(PVC_PROTECTION)) continue;
      const inUse = [...this.workers.values()].some(
        (w) =>
          w.pod.metadata?.namespace === namespace &&
          (w.pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name),
      );
      if (inUse) continue;
      const body = {
        ...claim,
        metadata: { ...claim.metadata, finalizers: finalizers.filter((f) => f !== PVC_PROTECTION) },
      };
      this.core.replaceNamespacedPersistentVolumeClaim({ name, namespace, body }).catch(() => undefined);
    }
  }

  private refreshVolumes(): void {
    for (const worker of this.workers.values()) worker.refreshVolumes();
  }

  /** A Node object for this node, so that `kubectl get nodes` and describe work (best effort). */
  private async registerNode(): Promise<void> {
    const ip = this.options.hostIP;
    await this.core
      .createNode({
        body: {
          metadata: {
            name: this.options.nodeName,
            labels: { 'kubernetes.io/hostname': this.options.nodeName },
          },
          status: {
            addresses: [
              { type: 'InternalIP', address: ip },
              { type: 'Hostname', address: this.options.nodeName },
            ],
            conditions: [
              { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date() },
            ],
          },
        },
      })
      .catch((err: unknown) => {
        if (!isApiError(err, 409)) this.options.logger.warn({ err }, 'node not registered');
      });
  }
}

function decodeSecret(secret: V1Secret | undefined): Record<string, Buffer> | undefined {
  if (!secret) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = Buffer.from(v);
  return out;
}

function textOf(cm: V1ConfigMap | undefined): Record<string, Buffer> | undefined {
  if (!cm) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = Buffer.from(v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}
