/**
 * Where an EtcdCluster's start-up goes, seen from outside the operator: informers on the namespace's
 * EtcdClusters, Secrets and Pods note when each step's result reaches the API, and a poll of every
 * member's /health (from this machine, by pod IP, as the floor polls) notes when etcd itself is ready.
 * Times are wall-clock ms, so that they line up with the operator's and etcd's logs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EtcdCluster } from '../lib/api/index.js';
import { FINALIZER, LABEL_CLUSTER, METRICS_PORT } from '../lib/cluster/index.js';
import {
  clientSource,
  EtcdClusters,
  Informer,
  Pods,
  Secrets,
  type EventHandler,
  type KubeClient,
  type KubeObject,
  type Pod,
  type ResourceType,
} from '../lib/kube/index.js';

/**
 * The steps of a start, in the order they happen; each is when the last member (or object) got there.
 * All but `etcdStarted` are observed here; the caller reads that one from the members' logs.
 */
export const STEPS = [
  ['applied', 'the create request is sent'],
  ['picked', "the operator's first write (finalizer)"],
  ['certificates', 'the CA and 3 leaf Secrets exist'],
  ['podsCreated', 'every member Pod exists'],
  ['podsScheduled', 'every Pod is bound to the node'],
  ['podsAddressed', 'every Pod has its IP (network namespace up)'],
  ['etcdStarted', 'every etcd process runs (from its log)'],
  ['etcdHealthy', "every member's /health is true"],
  ['running', 'status: Running, all members healthy'],
] as const;

export type Step = (typeof STEPS)[number][0];
type PodMark = 'podsCreated' | 'podsScheduled' | 'podsAddressed' | 'etcdHealthy';

/** One cluster's start, as it is observed. */
export interface StartRecord {
  name: string;
  size: number;
  /** When each step was reached (wall-clock ms). */
  at: Partial<Record<Step, number>>;
  /** The member pods (name → uid), for their logs. */
  pods: Map<string, string>;
}

interface Tracked extends StartRecord {
  marks: Map<string, Partial<Record<PodMark, number>>>;
  secrets: Set<string>;
  onRunning: () => void;
  onGone: () => void;
  clusterGone: boolean;
  polling: Set<string>;
  stopped: boolean;
}

export class StartupWatch {
  private readonly tracked = new Map<string, Tracked>();
  private readonly informers: { waitForSync(): Promise<boolean>; stop(): Promise<void> }[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly pollMs: number,
  ) {}

  async start(): Promise<void> {
    this.inform(EtcdClusters, {
      onUpdate: (_, c) => this.clusterChanged(c),
      onDelete: (c) => this.clusterDeleted(c),
    });
    this.inform(Secrets, { onAdd: (s) => this.secretAdded(s) });
    this.inform(Pods, {
      onAdd: (p) => this.podChanged(p),
      onUpdate: (_, p) => this.podChanged(p),
      onDelete: (p) => this.podDeleted(p),
    });
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    for (const t of this.tracked.values()) t.stopped = true;
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /**
   * Follows the start of cluster `name` from now: `running` resolves once its status says Running
   * with `size` healthy voting members; `gone` once it and its pods are deleted.
   */
  track(name: string, size: number): { record: StartRecord; running: Promise<void>; gone: Promise<void> } {
    let onRunning = () => {};
    let onGone = () => {};
    const running = new Promise<void>((resolve) => (onRunning = resolve));
    const gone = new Promise<void>((resolve) => (onGone = resolve));
    const t: Tracked = {
      name,
      size,
      at: {},
      pods: new Map(),
      marks: new Map(),
      secrets: new Set(),
      onRunning,
      onGone,
      clusterGone: false,
      polling: new Set(),
      stopped: false,
    };
    this.tracked.set(name, t);
    return { record: t, running, gone };
  }

  /** Stops the health polls of a run and completes its per-pod steps. */
  finish(name: string): void {
    const t = this.tracked.get(name);
    if (!t) return;
    t.stopped = true;
    for (const [step] of STEPS) {
      if (isPodMark(step)) {
        const last = lastOf(t, step);
        if (last !== undefined) t.at[step] = last;
      }
    }
  }

  private inform<T extends KubeObject>(type: ResourceType<T>, handler: EventHandler<T>): void {
    const informer = new Informer(clientSource(this.client, type, { namespace: this.namespace }), {
      name: `bench/${type.plural}`,
    });
    informer.addHandler(handler);
    informer.start();
    this.informers.push(informer);
  }

  private clusterChanged(c: EtcdCluster): void {
    const t = this.tracked.get(c.metadata.name ?? '');
    if (!t) return;
    const now = Date.now();
    if (c.metadata.finalizers?.includes(FINALIZER) || c.status) t.at.picked ??= now;
    const members = c.status?.members ?? [];
    if (
      c.status?.phase === 'Running' &&
      members.length === t.size &&
      members.every((m) => m.healthy && !m.isLearner)
    ) {
      t.at.running ??= now;
      t.onRunning();
    }
  }

  private clusterDeleted(c: EtcdCluster): void {
    const t = this.tracked.get(c.metadata.name ?? '');
    if (!t) return;
    t.clusterGone = true;
    this.checkGone(t);
  }

  private secretAdded(s: KubeObject): void {
    const t = this.tracked.get(s.metadata?.labels?.[LABEL_CLUSTER] ?? '');
    if (!t) return;
    t.secrets.add(s.metadata?.name ?? '');
    if (t.secrets.size === 4) t.at.certificates ??= Date.now();
  }

  private podChanged(p: Pod): void {
    const t = this.tracked.get(p.metadata?.labels?.[LABEL_CLUSTER] ?? '');
    const name = p.metadata?.name ?? '';
    if (!t || t.stopped) return;
    const now = Date.now();
    t.pods.set(name, p.metadata?.uid ?? '');
    const marks = t.marks.get(name) ?? {};
    t.marks.set(name, marks);
    marks.podsCreated ??= now;
    if (p.spec?.nodeName) marks.podsScheduled ??= now;
    const ip = p.status?.podIP;
    if (ip) {
      marks.podsAddressed ??= now;
      if (!t.polling.has(name)) {
        t.polling.add(name);
        void this.pollHealth(t, marks, ip);
      }
    }
  }

  private podDeleted(p: Pod): void {
    const t = this.tracked.get(p.metadata?.labels?.[LABEL_CLUSTER] ?? '');
    if (!t) return;
    t.pods.delete(p.metadata?.name ?? '');
    this.checkGone(t);
  }

  private checkGone(t: Tracked): void {
    if (t.clusterGone && t.pods.size === 0) {
      this.tracked.delete(t.name);
      t.onGone();
    }
  }

  private async pollHealth(t: Tracked, marks: Partial<Record<PodMark, number>>, ip: string): Promise<void> {
    const url = `http://${ip}:${METRICS_PORT}/health`;
    while (!t.stopped) {
      const body = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.text(),
        () => '',
      );
      if (body.includes('"health":"true"')) {
        marks.etcdHealthy ??= Date.now();
        return;
      }
      await sleep(this.pollMs);
    }
  }
}

function isPodMark(step: Step): step is PodMark {
  return ['podsCreated', 'podsScheduled', 'podsAddressed', 'etcdHealthy'].includes(step);
}

/** When the last of the cluster's `size` members reached `mark`. */
function lastOf(t: Tracked, mark: PodMark): number | undefined {
  const times = [...t.marks.values()].map((m) => m[mark]);
  if (times.length < t.size || times.some((x) => x === undefined)) return undefined;
  return Math.max(...(times as number[]));
}
