/**
 * The sandbox pod runtime: a node named `sandbox` (by default) that runs the pods the API server is
 * given as local processes. `createPodRuntime()` claims a node slot and sets up the network; its
 * `backend` serves the API server's exec, port-forward and logs; `start(kubeConfig)` attaches the
 * kubelet to an API server; `faults` breaks things on purpose; `stop()` leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { NotFoundError, UnavailableError } from '../../lib/errors.js';
import type { ExecIO, PodBackend, PodRef } from '../apiserver/types.js';
import { KUBERNETES_BACKOFF, type BackoffPolicy } from './backoff.js';
import { findTools, hostFs, isRoot } from './host.js';
import { defaultImageRules, type ImageRule } from './images.js';
import { Kubelet } from './kubelet.js';
import { silentLogger, type RuntimeLogger } from './logger.js';
import { NodeNetwork, reapSlotNetwork, type NetworkMode } from './network.js';
import { PodWorker } from './pod-worker.js';
import { runtimeProcesses, signalAll } from './proc.js';
import { claimSlot, reapStaleSlots, releaseSlot } from './slots.js';

export interface PodRuntimeOptions {
  /** Default `sandbox`. */
  nodeName?: string;
  /** `auto` (default): network namespaces as root, else loopback addresses (said in a warning). */
  network?: 'auto' | NetworkMode;
  /** The first two octets of pod addresses in netns mode (a /16 the machine does not use); default `10.213`. */
  podNetworkPrefix?: string;
  /** Where node slots are claimed, shared by every runtime on the machine; default /run/etcd-sandbox. */
  runDir?: string;
  /** Parent of the runtime's own directory (pods, claims, logs); default the OS temp dir. */
  stateParent?: string;
  /** The image map, first match wins; default `defaultImageRules()`. */
  images?: ImageRule[];
  /** Restart back-off; default Kubernetes' 10 s doubling to 5 min. */
  backoff?: BackoffPolicy;
  /** Default `cluster.local`. */
  clusterDomain?: string;
  logger?: RuntimeLogger;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  ip: string | undefined;
  /** The pod's network namespace (netns mode). */
  netns: string | undefined;
  /** Pids of its running containers and exec sessions. */
  pids: number[];
  /** Volume name → directory on this machine. */
  volumes: Record<string, string>;
}

export interface RuntimeFaults {
  /** SIGKILL a container (its first one by default); it restarts per its pod's restartPolicy. */
  crashContainer(namespace: string, name: string, container?: string): void;
  /** SIGSTOP / SIGCONT every process of the pod. */
  pausePod(namespace: string, name: string): void;
  resumePod(namespace: string, name: string): void;
  /** Deletes everything in a volume of the pod (for a claim: the claim's directory), as a lost disk. */
  destroyVolume(namespace: string, name: string, volume: string): void;
  /** Cuts the pod off from every other pod (the machine still reaches it); throws where impossible. */
  partitionPod(namespace: string, name: string): Promise<void>;
  healPod(namespace: string, name: string): Promise<void>;
}

export interface Leftovers {
  processes: number[];
  netns: string[];
  links: string[];
  dirs: string[];
}

export interface PodRuntime {
  /** Marks every process of this runtime (`SANDBOX_RUNTIME=<id>` in its environment). */
  readonly id: string;
  readonly nodeName: string;
  readonly networkMode: NetworkMode;
  /** The node's address as pods see it. */
  readonly hostIP: string;
  /** The runtime's directory: pods, claims, logs. */
  readonly stateDir: string;
  readonly backend: PodBackend;
  readonly faults: RuntimeFaults;
  /** Attaches the kubelet to an API server; resolves once its caches are filled. */
  start(kubeConfig: KubeConfig): Promise<void>;
  pod(namespace: string, name: string): PodInfo | undefined;
  /** The directory of a claim (bound or not), while the claim exists. */
  claimDir(namespace: string, name: string): string | undefined;
  /** Pids of every live process this runtime started (found in /proc, not from its own books). */
  processes(): number[];
  /** What of this runtime is still on the machine: after `stop()`, all empty. */
  leftovers(): Leftovers;
  stop(): Promise<void>;
}

const DEFAULT_RUN_DIR = '/run/etcd-sandbox';

export async function createPodRuntime(options: PodRuntimeOptions = {}): Promise<PodRuntime> {
  const logger = options.logger ?? silentLogger;
  const root = isRoot();
  const mode: NetworkMode =
    options.network === 'auto' || options.network === undefined
      ? root
        ? 'netns'
        : 'loopback'
      : options.network;
  if (mode === 'loopback') {
    logger.warn(
      { mode },
      'pod network: loopback addresses (no network namespaces without root); each pod must bind its own address',
    );
  }
  const runDir = options.runDir ?? DEFAULT_RUN_DIR;
  const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const stateDir = mkdtempSync(join(options.stateParent ?? tmpdir(), 'etcd-sandbox-'));
  await reapStaleSlots(runDir, async (slot, owner) => {
    logger.info({ slot, owner: owner.runtimeId }, 'reaping a crashed runtime');
    signalAll(runtimeProcesses(owner.runtimeId), 'SIGKILL');
    await reapSlotNetwork(slot);
    rmSync(owner.stateDir, { recursive: true, force: true });
  });
  const slot = claimSlot(runDir, { runtimeId: id, stateDir });
  let network: NodeNetwork;
  try {
    if (mode === 'netns') await reapSlotNetwork(slot);
    network = await NodeNetwork.create({
      mode,
      slot,
      stateDir,
      ...(options.podNetworkPrefix ? { prefix: options.podNetworkPrefix } : {}),
    });
  } catch (err) {
    releaseSlot(runDir, slot);
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
  return new Runtime(id, slot, runDir, stateDir, network, options, logger, !root);
}

class Runtime implements PodRuntime {
  readonly nodeName: string;
  readonly backend: PodBackend;
  readonly faults: RuntimeFaults;
  private kubelet: Kubelet | undefined;
  private stopping: Promise<void> | undefined;
  private readonly tools = findTools();

  constructor(
    readonly id: string,
    private readonly slot: number,
    private readonly runDir: string,
    readonly stateDir: string,
    private readonly network: NodeNetwork,
    private readonly options: PodRuntimeOptions,
    private readonly logger: RuntimeLogger,
    private readonly userNamespace: boolean,
  ) {
    this.nodeName = options.nodeName ?? 'sandbox';
    this.backend = {
      portForward: (pod, port) => this.portForward(pod, port),
      exec: (pod, container, command, io) => this.exec(pod, container, command, io),
      logs: (pod, container, opts) => Promise.resolve().then(() => this.logs(pod, container, opts)),
    };
    this.faults = {
      crashContainer: (ns, name, container) => {
        const w = this.worker(ns, name);
        w.crash(container ?? w.pod.spec?.containers[0]?.name ?? '');
      },
      pausePod: (ns, name) => this.worker(ns, name).signalAll('SIGSTOP'),
      resumePod: (ns, name) => this.worker(ns, name).signalAll('SIGCONT'),
      destroyVolume: (ns, name, volume) => {
        const dir = this.worker(ns, name).volumes.get(volume)?.path;
        if (dir === undefined) throw new NotFoundError(`pod ${ns}/${name} has no volume "${volume}"`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
      },
      partitionPod: (ns, name) => this.network.partition(this.podNet(ns, name)),
      healPod: (ns, name) => this.network.heal(this.podNet(ns, name)),
    };
  }

  get networkMode(): NetworkMode {
    return this.network.mode;
  }

  get hostIP(): string {
    return this.network.hostIP;
  }

  async start(kubeConfig: KubeConfig): Promise<void> {
    if (this.kubelet) throw new UnavailableError('the runtime is already attached to an API server');
    const claimsDir = join(this.stateDir, 'claims');
    this.kubelet = new Kubelet({
      kubeConfig,
      nodeName: this.nodeName,
      claimsDir,
      clusterDomain: this.options.clusterDomain ?? 'cluster.local',
      hostIP: this.network.hostIP,
      logger: this.logger,
      newWorker: (pod, kubelet) => this.newWorker(pod, kubelet),
    });
    await this.kubelet.start();
  }

  pod(namespace: string, name: string): PodInfo | undefined {
    const w = this.find(namespace, name);
    if (!w) return undefined;
    return {
      namespace,
      name,
      uid: w.uid,
      ip: w.net?.ip,
      netns: w.net?.netns,
      pids: w.pids(),
      volumes: Object.fromEntries([...w.volumes].map(([k, v]) => [k, v.path])),
    };
  }

  claimDir(namespace: string, name: string): string | undefined {
    const claim = this.kubelet?.claim(namespace, name);
    return claim ? this.kubelet?.claimPath(claim) : undefined;
  }

  processes(): number[] {
    return runtimeProcesses(this.id);
  }

  leftovers(): Leftovers {
    const { netns, links } = this.network.made;
    const netnsNow = new Set(existsSync('/run/netns') ? readdirSync('/run/netns') : []);
    return {
      processes: this.processes(),
      netns: [...netns].filter((n) => netnsNow.has(n)),
      links: [...links].filter((l) => existsSync(`/sys/class/net/${l}`)),
      dirs: [this.stateDir, ...[...netns].map((n) => `/etc/netns/${n}`)].filter((d) => existsSync(d)),
    };
  }

  async stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    await this.kubelet?.stop();
    // Anything that escaped its pod's books (it should not), by the marker in its environment.
    signalAll(this.processes(), 'SIGKILL');
    await this.network.close();
    rmSync(this.stateDir, { recursive: true, force: true });
    releaseSlot(this.runDir, this.slot);
  }

  private newWorker(pod: V1Pod, kubelet: Kubelet): PodWorker {
    const worker: PodWorker = new PodWorker(pod, {
      runtimeId: this.id,
      network: this.network,
      images: this.options.images ?? defaultImageRules(),
      tools: this.tools,
      fs: hostFs,
      backoff: this.options.backoff ?? KUBERNETES_BACKOFF,
      clusterDomain: this.options.clusterDomain ?? 'cluster.local',
      podDir: join(this.stateDir, 'pods', pod.metadata?.uid ?? ''),
      userNamespace: this.userNamespace,
      cluster: kubelet.cluster,
      event: (p, type, reason, message) => kubelet.event(p, type, reason, message),
      changed: () => kubelet.reportStatus(worker),
      addressed: () => kubelet.writeHosts(),
      logger: this.logger,
    });
    return worker;
  }

  private find(namespace: string, name: string): PodWorker | undefined {
    for (const w of this.kubelet?.workers.values() ?? []) {
      if (w.pod.metadata?.namespace === namespace && w.pod.metadata.name === name) return w;
    }
    return undefined;
  }

  private worker(namespace: string, name: string): PodWorker {
    const w = this.find(namespace, name);
    if (!w) throw new NotFoundError(`pod ${namespace}/${name} is not running on node ${this.nodeName}`);
    return w;
  }

  private byRef(ref: PodRef): PodWorker {
    const w = this.worker(ref.namespace, ref.name);
    if (ref.uid && w.uid !== ref.uid)
      throw new NotFoundError(`pod ${ref.namespace}/${ref.name} (uid ${ref.uid}) is gone`);
    return w;
  }

  private podNet(namespace: string, name: string) {
    const net = this.worker(namespace, name).net;
    if (!net) throw new UnavailableError(`pod ${namespace}/${name} has no network yet`);
    return net;
  }

  private portForward(ref: PodRef, port: number): Promise<Duplex> {
    const ip = this.byRef(ref).net?.ip;
    if (ip === undefined)
      return Promise.reject(new UnavailableError(`pod ${ref.namespace}/${ref.name} has no IP yet`));
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: ip, port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', (err) =>
        reject(
          new UnavailableError(`pod ${ref.namespace}/${ref.name} port ${port}: ${err.message}`, {
            cause: err,
          }),
        ),
      );
    });
  }

  private async exec(
    ref: PodRef,
    container: string,
    command: string[],
    io: ExecIO,
  ): Promise<{ exitCode: number }> {
    const w = this.byRef(ref);
    const exitCode = await w.exec(container || (w.pod.spec?.containers[0]?.name ?? ''), command, io);
    return { exitCode };
  }

  private logs(ref: PodRef, container: string, opts: Parameters<PodBackend['logs']>[2]): Readable {
    const w = this.byRef(ref);
    return w.readLogs(container || (w.pod.spec?.containers[0]?.name ?? ''), opts);
  }
}
