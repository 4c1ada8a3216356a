/**
 * A sandbox (API server + pod runtime) for one test file: quick restart back-off, stopped at the end
 * even when the file fails. `expectNothingLeft` stops it and asserts that no process, network
 * namespace, link or directory of the runtime remains.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  Exec,
  PortForward,
  type KubeConfig,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Service,
  type V1Status,
} from '@kubernetes/client-node';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/sandbox.js';

interface TapLike {
  teardown(fn: () => void | Promise<void>): void;
}

interface Asserts {
  same(found: unknown, wanted: unknown, message: string): unknown;
}

export async function startTestSandbox(t: TapLike, options: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = await startSandbox({
    ...options,
    runtime: { backoff: { baseMs: 1000, maxMs: 4000 }, ...options.runtime },
  });
  t.teardown(() => sandbox.stop());
  return sandbox;
}

export async function expectNothingLeft(
  t: Asserts,
  sandbox: Pick<Sandbox, 'stop' | 'runtime'>,
): Promise<void> {
  await sandbox.stop();
  t.same(
    sandbox.runtime.leftovers(),
    { processes: [], netns: [], links: [], dirs: [] },
    'the runtime left nothing behind',
  );
}

/** Polls `check` until it returns a value other than undefined (every 200 ms, up to `timeoutMs`). */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`, {
        cause: last,
      });
    }
    await sleep(200);
  }
}

/** Runs a command in a container through the API server's exec (client-node, WebSocket). */
export async function execInPod(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  container: string,
  command: string[],
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = '';
  let stderr = '';
  const collect = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString());
        done();
      },
    });
  let status: V1Status | undefined;
  const ws = await new Exec(kc).exec(
    namespace,
    pod,
    container,
    command,
    collect((s) => (stdout += s)),
    collect((s) => (stderr += s)),
    null,
    false,
    (s) => (status = s),
  );
  await new Promise<void>((resolve) =>
    ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve()),
  );
  const code = status?.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  return { stdout, stderr, exitCode: status?.status === 'Success' ? 0 : Number(code ?? 1) };
}

/** A local port forwarded to a pod's port through the API server (client-node PortForward). */
export async function forwardPort(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  port: number,
): Promise<{ localPort: number; close(): Promise<void> }> {
  const forward = new PortForward(kc);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const errors = new PassThrough();
    errors.resume();
    forward.portForward(namespace, pod, [port], socket, errors, socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    localPort: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function podReady(pod: V1Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export interface EtcdClusterManifest {
  service: V1Service;
  claims: V1PersistentVolumeClaim[];
  pods: V1Pod[];
}

/**
 * A hand-written static etcd cluster: a headless Service `name`, and per member a claim and a Pod with
 * hostname/subdomain, peers addressed by DNS name, readiness on /health (metrics port 2381).
 */
export function etcdClusterManifest(
  name: string,
  image: string,
  size = 3,
  namespace = 'default',
): EtcdClusterManifest {
  const members = Array.from({ length: size }, (_, i) => `${name}-${i}`);
  const peer = (m: string) => `http://${m}.${name}.${namespace}.svc:2380`;
  const initialCluster = members.map((m) => `${m}=${peer(m)}`).join(',');
  const is34 = /:v?3\.4\./.test(image);
  const labels = { app: name };
  return {
    service: {
      metadata: { name, namespace, labels },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: labels,
        ports: [
          { name: 'client', port: 2379 },
          { name: 'peer', port: 2380 },
        ],
      },
    },
    claims: members.map((m) => ({
      metadata: { name: `data-${m}`, namespace, labels },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    })),
    pods: members.map((m, i) => ({
      metadata: { name: m, namespace, labels },
      spec: {
        hostname: m,
        subdomain: name,
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: 'etcd',
            image,
            // Both spellings a pod spec uses: a bare name on PATH and the image's absolute path.
            command: [i % 2 === 0 ? 'etcd' : '/usr/local/bin/etcd'],
            args: [
              '--name=$(POD_NAME)',
              '--data-dir=/var/lib/etcd/data',
              '--listen-peer-urls=http://0.0.0.0:2380',
              '--listen-client-urls=http://0.0.0.0:2379',
              '--listen-metrics-urls=http://0.0.0.0:2381',
              `--advertise-client-urls=http://$(POD_NAME).${name}.$(POD_NAMESPACE).svc:2379`,
              `--initial-advertise-peer-urls=http://$(POD_NAME).${name}.$(POD_NAMESPACE).svc:2380`,
              `--initial-cluster=${initialCluster}`,
              '--initial-cluster-state=new',
              `--initial-cluster-token=${name}`,
              ...(is34 ? ['--logger=zap'] : ['--unsafe-no-fsync']),
            ],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            ],
            ports: [
              { name: 'client', containerPort: 2379 },
              { name: 'peer', containerPort: 2380 },
              { name: 'metrics', containerPort: 2381 },
            ],
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/etcd' }],
            readinessProbe: {
              httpGet: { path: '/health', port: 'metrics' },
              periodSeconds: 1,
              failureThreshold: 2,
            },
          },
        ],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `data-${m}` } }],
      },
    })),
  };
}

/** Creates the cluster through the API and waits until every member is Ready. */
export async function createEtcdCluster(kc: KubeConfig, manifest: EtcdClusterManifest): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = manifest.service.metadata?.namespace ?? 'default';
  await core.createNamespacedService({ namespace, body: manifest.service });
  for (const claim of manifest.claims)
    await core.createNamespacedPersistentVolumeClaim({ namespace, body: claim });
  for (const pod of manifest.pods) await core.createNamespacedPod({ namespace, body: pod });
  await eventually(
    'every etcd member Ready',
    async () => {
      const pods = await core.listNamespacedPod({
        namespace,
        labelSelector: `app=${manifest.service.metadata?.name}`,
      });
      return pods.items.length === manifest.pods.length && pods.items.every(podReady) ? true : undefined;
    },
    120_000,
  );
}

/** `etcdctl member list` through exec in `pod`: the started members' names. */
export async function startedMembers(kc: KubeConfig, namespace: string, pod: string): Promise<string[]> {
  const out = await execInPod(kc, namespace, pod, 'etcd', [
    'etcdctl',
    '--endpoints=http://127.0.0.1:2379',
    'member',
    'list',
  ]);
  if (out.exitCode !== 0) throw new Error(`etcdctl member list: exit ${out.exitCode}: ${out.stderr}`);
  return out.stdout
    .trim()
    .split('\n')
    .map((line) => line.split(', '))
    .filter((cols) => cols[1] === 'started')
    .map((cols) => cols[2] ?? '')
    .sort();
}
