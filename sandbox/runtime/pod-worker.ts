/**
 * One pod on this node, from its network and volumes through init containers, containers, probes
 * and restarts with back-off, to graceful termination (SIGTERM, the grace period, SIGKILL). It knows
 * nothing of the API: the kubelet hands it the pod and reports the record it keeps.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { NotFoundError, UnavailableError } from '../../lib/errors.js';
import {
  initRestarts,
  resetsBackoff,
  restartDelay,
  restarts,
  type BackoffPolicy,
  type RestartPolicy,
} from './backoff.js';
import { ContainerProcess, type Exit } from './container.js';
import { ContainerConfigError, containerArgv, containerEnv, type EnvSources } from './env.js';
import { podHostname } from './hosts.js';
import { resolveImage, type ImageRule, type ResolvedImage } from './images.js';
import { launchCommand, type FsView, type Mount, type Tools } from './launch.js';
import { ContainerLogs, type LogOptions } from './logs.js';
import type { NodeNetwork, PodNetwork } from './network.js';
import { ProbeLoop, probeCheck } from './probes.js';
import { RUNTIME_MARKER } from './proc.js';
import type { ContainerRecord, PodRecord } from './status.js';
import { preparePodVolumes, VolumeNotReadyError, type VolumePath, type VolumeSources } from './volumes.js';
import type { RuntimeLogger } from './logger.js';

/** What a pod may read from the cluster (the kubelet's caches). */
export type ClusterView = Omit<EnvSources, 'podIP' | 'hostIP'> & VolumeSources;

export interface WorkerDeps {
  runtimeId: string;
  network: NodeNetwork;
  images: readonly ImageRule[];
  tools: Tools;
  fs: FsView;
  backoff: BackoffPolicy;
  clusterDomain: string;
  /** The pod's own directory (volumes, logs, container roots); removed when the pod is gone. */
  podDir: string;
  /** Not root: containers get a user namespace. */
  userNamespace: boolean;
  cluster: ClusterView;
  event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** The record changed: report it. */
  changed(): void;
  /** The pod has its address: write every hosts file (this pod's before returning). */
  addressed(): void;
  logger: RuntimeLogger;
}

interface Run {
  proc: ContainerProcess;
  /** Its root is built: exec may enter it. */
  ready: boolean;
  env: Record<string, string>;
  probes: ProbeLoop[];
}

const VOLUME_RETRY_MS = 500;

export class PodWorker {
  pod: V1Pod;
  /**
   * The pod's address, reserved as the worker is made, before its network is up, so that its peers'
   * hosts files name it before they start: a Go program (etcd) reads /etc/hosts once per 5 seconds.
   */
  readonly ip: string | undefined;
  net: PodNetwork | undefined;
  volumes = new Map<string, VolumePath>();
  readonly record: PodRecord;
  private readonly runs = new Map<string, Run>();
  /** Index of the latest started run of each container (for its logs). */
  private readonly runIndex = new Map<string, number>();
  private readonly execs = new Set<{ pid: number; closed: Promise<void>; signal(s: NodeJS.Signals): void }>();
  private readonly logs: ContainerLogs;
  private readonly substituted = new Set<string>();
  private stopping = false;
  private stopSignal: NodeJS.Signals = 'SIGTERM';
  private readonly sleepers = new Set<() => void>();
  private main: Promise<void> | undefined;
  private terminated: Promise<void> | undefined;

  constructor(
    pod: V1Pod,
    private readonly deps: WorkerDeps,
  ) {
    this.pod = pod;
    this.ip = deps.network.reserve();
    this.logs = new ContainerLogs(join(deps.podDir, 'logs'));
    const waiting = (c: V1Container, reason: string): ContainerRecord => ({
      name: c.name,
      image: c.image ?? '',
      state: { kind: 'waiting', reason },
      restartCount: 0,
      ready: false,
      started: false,
    });
    const hasInit = (pod.spec?.initContainers?.length ?? 0) > 0;
    this.record = {
      init: (pod.spec?.initContainers ?? []).map((c) => waiting(c, 'PodInitializing')),
      containers: (pod.spec?.containers ?? []).map((c) =>
        waiting(c, hasInit ? 'PodInitializing' : 'ContainerCreating'),
      ),
      initDone: !hasInit,
      initFailed: false,
      hostIP: deps.network.hostIP,
    };
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  get restartPolicy(): RestartPolicy {
    return (this.pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
  }

  start(): void {
    this.main ??= this.runPod().catch((err: unknown) => {
      this.deps.logger.error({ err, pod: this.key }, 'pod worker failed');
    });
  }

  /** A newer version of the pod from the API (labels, annotations and Secret changes matter). */
  update(pod: V1Pod): void {
    this.pod = pod;
    this.refreshVolumes();
  }

  /** Rewrites Secret, ConfigMap and downward-API volumes if their sources changed. */
  refreshVolumes(): void {
    if (this.net === undefined || this.volumes.size === 0 || this.stopping) return;
    try {
      this.volumes = preparePodVolumes(this.pod, this.deps.podDir, this.deps.cluster, this.ips());
    } catch (err) {
      this.deps.logger.warn({ err, pod: this.key }, 'volume refresh failed');
    }
  }

  /** SIGTERM, up to `graceSeconds`, SIGKILL; then the pod's network and directory are removed. */
  terminate(graceSeconds: number): Promise<void> {
    this.terminated ??= this.stop(graceSeconds);
    return this.terminated;
  }

  /** Sends `signal` to every process of the pod (containers and exec sessions). */
  signalAll(signal: NodeJS.Signals): void {
    for (const run of this.runs.values()) run.proc.signal(signal);
    for (const e of this.execs) e.signal(signal);
  }

  crash(container: string): void {
    const run = this.runs.get(container);
    if (!run?.proc.running) throw new NotFoundError(`container "${container}" of ${this.key} is not running`);
    run.proc.signal('SIGKILL');
  }

  /** The pids of the pod's running containers and exec sessions. */
  pids(): number[] {
    return [
      ...[...this.runs.values()].filter((r) => r.proc.running).map((r) => r.proc.pid),
      ...[...this.execs].map((e) => e.pid),
    ];
  }

  containerPid(container: string): number | undefined {
    const run = this.runs.get(container);
    return run?.proc.running ? run.proc.pid : undefined;
  }

  readLogs(container: string, options: LogOptions): Readable {
    const run = this.runIndex.get(container);
    if (run === undefined)
      throw new NotFoundError(`container "${container}" in pod ${this.key} has not started`);
    const live = () =>
      this.runIndex.get(container) === run && (this.runs.get(container)?.proc.running ?? false);
    return this.logs.read(container, run, options, live);
  }

  /**
   * Runs `command` in the container's namespaces, root, working directory and environment; resolves
   * to its exit code. A timeout kills it (exit code 137).
   */
  exec(
    container: string,
    command: readonly string[],
    io: { stdin?: Readable; stdout?: Writable; stderr?: Writable },
    timeoutMs?: number,
  ): Promise<number> {
    const run = this.runs.get(container);
    if (!run?.proc.running || !run.ready) {
      return Promise.reject(new UnavailableError(`container "${container}" of ${this.key} is not running`));
    }
    const { tools } = this.deps;
    const ns = [
      '-m',
      '-u',
      '-r',
      '-w',
      ...(this.net?.netns ? ['-n'] : []),
      ...(this.deps.userNamespace ? ['-U', '--preserve-credentials'] : []),
    ];
    const child = spawn(tools.nsenter, ['-t', String(run.proc.pid), ...ns, '--', ...command], {
      env: run.env,
      stdio: [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let closed: () => void = () => undefined;
    const handle = {
      closed: new Promise<void>((resolve) => (closed = resolve)),
      pid: child.pid ?? -1,
      signal: (s: NodeJS.Signals) => {
        try {
          process.kill(-(child.pid ?? 0), s);
        } catch {
          // gone
        }
      },
    };
    this.execs.add(handle);
    if (io.stdin && child.stdin) io.stdin.pipe(child.stdin).on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    if (io.stdout) child.stdout?.pipe(io.stdout, { end: false });
    else child.stdout?.resume();
    if (io.stderr) child.stderr?.pipe(io.stderr, { end: false });
    else child.stderr?.resume();
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => handle.signal('SIGKILL'), timeoutMs);
    return new Promise((resolve, reject) => {
      child.once('error', (err) => {
        clearTimeout(timer);
        this.execs.delete(handle);
        closed();
        reject(new UnavailableError(`exec in ${this.key}: ${err.message}`, { cause: err }));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        this.execs.delete(handle);
        closed();
        resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
      });
    });
  }

  get key(): string {
    return `${this.pod.metadata?.namespace ?? 'default'}/${this.pod.metadata?.name ?? ''}`;
  }

  private ips() {
    return { podIP: this.net?.ip ?? '', hostIP: this.deps.network.hostIP };
  }

  private async runPod(): Promise<void> {
    this.net = await this.deps.network.addPod(this.uid.slice(0, 8), this.ip);
    if (this.stopping) return;
    this.record.podIP = this.net.ip;
    this.record.startTime = new Date();
    this.deps.addressed();
    this.deps.changed();

    let lastProblem = '';
    while (!this.stopping) {
      try {
        this.volumes = preparePodVolumes(this.pod, this.deps.podDir, this.deps.cluster, this.ips());
        this.record.message = undefined;
        break;
      } catch (err) {
        if (!(err instanceof VolumeNotReadyError || err instanceof ContainerConfigError)) throw err;
        if (err.message !== lastProblem) {
          this.deps.event(this.pod, 'Warning', 'FailedMount', err.message);
          this.record.message = err.message;
          this.deps.changed();
        }
        lastProblem = err.message;
        await this.sleep(VOLUME_RETRY_MS);
      }
    }

    const initContainers = this.pod.spec?.initContainers ?? [];
    for (const [i, container] of initContainers.entries()) {
      const record = this.record.init[i];
      if (record === undefined) continue;
      for (let crashes = 1; !this.stopping; crashes++) {
        const exit = await this.runOnce(container, record, false);
        if (exit === undefined || this.stopping) return;
        if (exit.exitCode === 0) break;
        if (!initRestarts(this.restartPolicy, exit.exitCode)) {
          this.record.initFailed = true;
          this.deps.changed();
          return;
        }
        await this.backOff(container, record, crashes);
      }
    }
    if (this.stopping) return;
    this.record.initDone = true;
    for (const c of this.record.containers) c.state = { kind: 'waiting', reason: 'ContainerCreating' };
    this.deps.changed();
    await Promise.all(
      (this.pod.spec?.containers ?? []).map((container, i) => {
        const record = this.record.containers[i];
        return record ? this.supervise(container, record) : Promise.resolve();
      }),
    );
  }

  private async supervise(container: V1Container, record: ContainerRecord): Promise<void> {
    let crashes = 0;
    while (!this.stopping) {
      const startedAt = Date.now();
      const exit = await this.runOnce(container, record, true);
      if (this.stopping) return;
      if (exit !== undefined && !restarts(this.restartPolicy, exit.exitCode)) return;
      crashes = resetsBackoff(this.deps.backoff, Date.now() - startedAt) ? 1 : crashes + 1;
      await this.backOff(container, record, crashes);
    }
  }

  /** Waits out the restart back-off, showing CrashLoopBackOff while it lasts. */
  private async backOff(container: V1Container, record: ContainerRecord, crashes: number): Promise<void> {
    const delay = restartDelay(this.deps.backoff, crashes);
    if (delay === 0 || this.stopping) return;
    const message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${container.name} pod=${this.pod.metadata?.name}`;
    if (record.state.kind === 'terminated') record.lastState = record.state;
    record.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message };
    record.ready = false;
    this.deps.event(this.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${container.name}`);
    this.deps.changed();
    await this.sleep(delay);
  }

  /**
   * One run of a container, from launch to exit. Resolves undefined when it could not start (the
   * record says why).
   */
  private async runOnce(
    container: V1Container,
    record: ContainerRecord,
    main: boolean,
  ): Promise<Exit | undefined> {
    let image: ResolvedImage;
    let env: Map<string, string>;
    try {
      image = resolveImage(this.deps.images, container.image ?? '');
    } catch (err) {
      this.waiting(record, 'ErrImagePull', (err as Error).message);
      return undefined;
    }
    try {
      env = containerEnv(this.pod, container, { ...this.deps.cluster, ...this.ips() });
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      this.waiting(record, 'CreateContainerConfigError', err.message);
      return undefined;
    }
    if (image.substituted && !this.substituted.has(container.name)) {
      this.substituted.add(container.name);
      this.deps.event(
        this.pod,
        'Normal',
        'ImageVersionSubstituted',
        `image ${container.image} runs the local etcd ${image.substituted.used} (nearest patch of ${image.substituted.asked})`,
      );
    }
    const processEnv = this.processEnv(env);
    const run = (this.runIndex.get(container.name) ?? -1) + 1;
    const dir = join(this.deps.podDir, 'containers', `${container.name}-${run}`);
    mkdirSync(join(dir, 'root'), { recursive: true });
    mkdirSync(join(dir, 'scratch'), { recursive: true });
    const command = launchCommand(
      {
        ...(this.net?.netnsPath ? { netnsPath: this.net.netnsPath } : {}),
        userNamespace: this.deps.userNamespace,
        rootDir: join(dir, 'root'),
        scratchDir: join(dir, 'scratch'),
        hostname: podHostname(this.pod),
        hostsFile: this.net?.hostsPath ?? '/etc/hosts',
        resolvConf: this.resolvConf(),
        bin: image.bin,
        mounts: this.mounts(container),
        workingDir: container.workingDir || '/',
        argv: containerArgv(container, image, env),
      },
      this.deps.tools,
      this.deps.fs,
    );
    const proc = new ContainerProcess(command, processEnv, this.logs.openRun(container.name, run));
    this.runIndex.set(container.name, run);
    const current: Run = { proc, ready: false, env: processEnv, probes: [] };
    this.runs.set(container.name, current);
    if (this.stopping) proc.signal(this.stopSignal);
    // Running (and open to exec) only once its root is built: before that, exec would see the machine's.
    current.ready = await proc.setUp;

    if (run > 0) {
      if (record.state.kind === 'terminated') record.lastState = record.state;
      record.restartCount++;
    }
    record.state = { kind: 'running', startedAt: proc.startedAt };
    record.containerID = `sandbox://${this.uid}/${container.name}/${run}`;
    record.started = !(main && container.startupProbe);
    record.ready = main && !container.readinessProbe && record.started;
    this.deps.event(this.pod, 'Normal', 'Started', `Started container ${container.name}`);
    this.deps.changed();
    if (main) this.startProbes(container, record, current);

    const exit = await proc.exited;
    for (const p of current.probes) p.stop();
    record.state = {
      kind: 'terminated',
      exitCode: exit.exitCode,
      ...(exit.signal !== undefined ? { signal: exit.signal } : {}),
      reason: exit.exitCode === 0 ? 'Completed' : 'Error',
      startedAt: proc.startedAt,
      finishedAt: new Date(),
    };
    record.ready = false;
    record.started = false;
    this.deps.changed();
    return exit;
  }

  private startProbes(container: V1Container, record: ContainerRecord, run: Run): void {
    const target = {
      ip: this.net?.ip ?? '127.0.0.1',
      ports: container.ports ?? [],
      exec: (command: string[], timeoutMs: number) => this.exec(container.name, command, {}, timeoutMs),
    };
    const kill = (why: string) => {
      this.deps.event(this.pod, 'Warning', 'Unhealthy', `${why} probe failed`);
      this.deps.event(
        this.pod,
        'Normal',
        'Killing',
        `Container ${container.name} failed ${why.toLowerCase()} probe, will be restarted`,
      );
      void this.stopContainer(run.proc, this.graceSeconds());
    };
    const readiness = container.readinessProbe;
    const liveness = container.livenessProbe;
    const startAfterStartup = () => {
      if (readiness) {
        const loop = new ProbeLoop(readiness, probeCheck(readiness, target), (ok) => {
          if (!ok) this.deps.event(this.pod, 'Warning', 'Unhealthy', 'Readiness probe failed');
          record.ready = ok;
          this.deps.changed();
        });
        run.probes.push(loop);
        loop.start();
      } else {
        record.ready = true;
        this.deps.changed();
      }
      if (liveness) {
        const loop = new ProbeLoop(liveness, probeCheck(liveness, target), (ok) => ok || kill('Liveness'));
        run.probes.push(loop);
        loop.start();
      }
    };
    const startup = container.startupProbe;
    if (!startup) return readiness || liveness ? startAfterStartup() : undefined;
    const loop = new ProbeLoop(startup, probeCheck(startup, target), (ok) => {
      if (!ok) return kill('Startup');
      loop.stop();
      record.started = true;
      this.deps.changed();
      startAfterStartup();
    });
    run.probes.push(loop);
    loop.start();
  }

  private async stopContainer(proc: ContainerProcess, graceSeconds: number): Promise<void> {
    proc.signal('SIGTERM');
    const timer = setTimeout(() => proc.signal('SIGKILL'), graceSeconds * 1000);
    await proc.exited;
    clearTimeout(timer);
  }

  private graceSeconds(): number {
    return this.pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  private async stop(graceSeconds: number): Promise<void> {
    this.stopping = true;
    for (const wake of this.sleepers) wake();
    for (const [name, run] of this.runs) {
      if (run.proc.running) this.deps.event(this.pod, 'Normal', 'Killing', `Stopping container ${name}`);
    }
    this.signalAll('SIGTERM');
    const exits = () => Promise.all([...this.runs.values()].map((r) => r.proc.exited));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      exits(),
      new Promise((resolve) => (timer = setTimeout(resolve, graceSeconds * 1000))),
    ]);
    clearTimeout(timer);
    this.stopSignal = 'SIGKILL';
    this.signalAll('SIGKILL');
    await this.main;
    await exits();
    await Promise.all([...this.execs].map((e) => e.closed));
    if (this.net) await this.deps.network.removePod(this.net);
    if (this.ip !== undefined) this.deps.network.release(this.ip);
    rmSync(this.deps.podDir, { recursive: true, force: true });
  }

  private waiting(record: ContainerRecord, reason: string, message: string): void {
    if (record.state.kind === 'terminated') record.lastState = record.state;
    record.state = { kind: 'waiting', reason, message };
    this.deps.event(this.pod, 'Warning', 'Failed', message);
    this.deps.changed();
  }

  /**
   * The pod's resolv.conf: the cluster's search path (the hosts file answers the names) and a
   * nameserver on the pod's own loopback, where nothing listens, so that a name the hosts file lacks
   * fails at once instead of waiting on the machine's DNS servers.
   */
  private resolvConf(): string {
    const path = join(this.deps.podDir, 'resolv.conf');
    const ns = this.pod.metadata?.namespace ?? 'default';
    const domain = this.deps.clusterDomain;
    writeFileSync(
      path,
      `search ${ns}.svc.${domain} svc.${domain} ${domain}\nnameserver 127.0.0.1\noptions ndots:5 attempts:1 timeout:1\n`,
    );
    return path;
  }

  private processEnv(env: ReadonlyMap<string, string>): Record<string, string> {
    return {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: podHostname(this.pod),
      HOME: '/root',
      ...Object.fromEntries(env),
      [RUNTIME_MARKER]: this.deps.runtimeId,
    };
  }

  private mounts(container: V1Container): Mount[] {
    return (container.volumeMounts ?? []).flatMap((m) => {
      const volume = this.volumes.get(m.name);
      if (volume === undefined) return [];
      const source = m.subPath ? join(volume.path, m.subPath) : volume.path;
      const file = m.subPath !== undefined && this.deps.fs.kind(source) === 'file';
      if (m.subPath && !file) mkdirSync(source, { recursive: true });
      return [{ source, target: m.mountPath, readOnly: volume.readOnly || (m.readOnly ?? false), file }];
    });
  }

  /** Waits `ms`, or less if the pod is being stopped. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
