/**
 * A real kube-apiserver (built by hack/kube-binaries.sh) on loopback, behind the same interface as
 * the sandbox's startApiServer(): its own etcd 3.6, a static token file, a serving certificate from
 * lib/tls, RBAC, and — when asked — kube-controller-manager with the controllers the sandbox
 * emulates (garbage collection, namespace deletion, service accounts). Everything lives in one
 * temporary directory that stop() removes with the processes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onExit } from 'signal-exit';
import { NotFoundError, UnavailableError, UsageError } from '../../lib/errors.js';
import { cacheDir, findEtcd } from '../binaries.js';
import { findKubeBinary } from './binaries.js';
import { ADMIN, resolveUsers, writeServerCredentials, type UserSpec } from './credentials.js';
import { startLoopbackEtcd, unusedPort } from './etcd.js';
import { request, type RawResponse } from './http.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { claimDir, DIR_PREFIX, reapOrphans } from './leftovers.js';
import { startProcess, waitUntilReady, type ControlPlaneProcess } from './process.js';

/**
 * The kube-controller-manager controllers behind the behaviour the sandbox API server builds in:
 * owner-reference garbage collection, namespace finalization, the `default` ServiceAccount and its
 * token, the protection finalizers of PVCs and PVs being released, and the rules of the aggregated
 * ClusterRoles (`view`, `edit`, `admin` are empty without it).
 */
export const SANDBOX_CONTROLLERS = [
  'garbage-collector-controller',
  'clusterrole-aggregation-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller',
] as const;

export interface RealApiServerOptions {
  /** 0 or undefined: an unused port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Bearer-token users besides `admin` (always present, in system:masters). A missing token is generated. */
  users?: Record<string, UserSpec>;
  /** CRDs installed at start (e.g. generated/crds.ts `crds`); start() returns once they are Established. */
  crds?: object[];
  /**
   * kube-controller-manager controllers to run beside the API server; default SANDBOX_CONTROLLERS.
   * `[]` runs no controller manager: no garbage collection, namespaces stay Terminating.
   */
  controllers?: readonly string[];
  /** The binary cache (default: sandbox/binaries.ts cacheDir()). */
  cache?: string;
  /** How long each process may take to become ready; default 60 s. */
  startTimeoutMs?: number;
}

export interface RealApiServer {
  /** https://HOST:PORT */
  url: string;
  /** PEM of the CA that signed the serving certificate. */
  caCert: string;
  /** The server's version, e.g. v1.37.2. */
  version: string;
  /** Holds etcd's data, the credentials and each process's log (kube-apiserver.log, …); stop() removes it. */
  dir: string;
  /** kubeconfig YAML for `user` (default 'admin'), embedding the CA and the user's token. */
  kubeconfig(user?: string): string;
  writeKubeconfig(path: string, user?: string): void;
  /** The token of `user`; throws a NotFoundError for an unknown user. */
  token(user?: string): string;
  /** A real server keeps no log of the requests it served: always undefined. */
  requests?: undefined;
  /** Faults cannot be injected into a real server: always undefined. */
  faults?: undefined;
  /** Stops the controller manager, the API server and etcd, and removes their directory. */
  stop(): Promise<void>;
}

/** Unlike the sandbox, a real server gives the `kubernetes` Service this address. */
const SERVICE_CIDR = '10.0.0.0/24';
const KUBERNETES_SERVICE_IP = '10.0.0.1';
const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';

export async function startRealApiServer(options: RealApiServerOptions = {}): Promise<RealApiServer> {
  const host = options.host ?? '127.0.0.1';
  const cache = options.cache ?? cacheDir();
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const controllers = options.controllers ?? SANDBOX_CONTROLLERS;
  if (options.users?.[CONTROLLER_MANAGER_USER]) {
    throw new UsageError(`user ${CONTROLLER_MANAGER_USER} is reserved for the controller manager`);
  }
  // Fail before creating anything when a binary is missing.
  const apiserverBin = findKubeBinary('kube-apiserver', cache);
  const controllerManagerBin =
    controllers.length > 0 ? findKubeBinary('kube-controller-manager', cache) : undefined;
  const etcdBin = findEtcd('3.6', cache);

  reapOrphans(tmpdir());
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  claimDir(dir);
  const processes: ControlPlaneProcess[] = [];
  // A test runner's timeout (SIGTERM) or Ctrl-C must not leave a control plane running.
  const removeExitHook = onExit(() => {
    for (const p of processes) p.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const stopAll = async () => {
    // Reverse start order: the controller manager, then the API server, then etcd.
    for (const p of processes.toReversed()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
    removeExitHook();
  };

  try {
    const users = resolveUsers({
      ...options.users,
      ...(controllerManagerBin ? { [CONTROLLER_MANAGER_USER]: { groups: ['system:masters'] } } : {}),
    });
    const { ca, files } = writeServerCredentials(dir, host, KUBERNETES_SERVICE_IP, users.values());
    const etcd = await startLoopbackEtcd(etcdBin, dir, timeoutMs);
    processes.push(etcd.process);

    const port = options.port || (await unusedPort(host));
    const url = `https://${host}:${port}`;
    const apiserver = startProcess(
      `kube-apiserver ${apiserverBin.version}`,
      apiserverBin.path,
      [
        `--etcd-servers=${etcd.clientURL}`,
        `--bind-address=${host}`,
        `--secure-port=${port}`,
        `--tls-cert-file=${files.tlsCert}`,
        `--tls-private-key-file=${files.tlsKey}`,
        `--token-auth-file=${files.tokens}`,
        '--authorization-mode=RBAC',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--service-account-issuer=${url}`,
        `--service-account-key-file=${files.serviceAccountKey}`,
        `--service-account-signing-key-file=${files.serviceAccountKey}`,
        // Pods would need their namespace's `default` ServiceAccount to exist first (envtest does the same).
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--profiling=false',
      ],
      join(dir, 'kube-apiserver.log'),
    );
    processes.push(apiserver);

    const admin = users.get(ADMIN)!.token;
    const get = (path: string): Promise<RawResponse> =>
      request(url, ca.cert, { path, token: admin, timeoutMs: 5_000 });
    // /readyz alone is not enough: the `default` namespace is created by a post-start hook just
    // after, and a list is answered 429 while the watch cache behind it initializes.
    await waitUntilReady(
      apiserver,
      async () =>
        (await get('/readyz')).status === 200 &&
        (await get('/api/v1/namespaces/default')).status === 200 &&
        (await get('/api/v1/namespaces')).status === 200,
      timeoutMs,
    );

    const userToken = (user = ADMIN): string => {
      const u = users.get(user);
      if (!u) throw new NotFoundError(`no user ${JSON.stringify(user)} on this API server`);
      return u.token;
    };
    const kubeconfig = (user = ADMIN) => kubeconfigYaml(url, ca.cert, user, userToken(user));

    if (controllerManagerBin) {
      const kubeconfigFile = join(dir, 'kube-controller-manager.kubeconfig');
      writeFileSync(kubeconfigFile, kubeconfig(CONTROLLER_MANAGER_USER), { mode: 0o600 });
      const kcm = startProcess(
        `kube-controller-manager ${controllerManagerBin.version}`,
        controllerManagerBin.path,
        [
          `--kubeconfig=${kubeconfigFile}`,
          `--controllers=${controllers.join(',')}`,
          '--leader-elect=false',
          // Nothing scrapes its metrics or health: no listener, no delegated authentication to set up.
          '--secure-port=0',
          `--service-account-private-key-file=${files.serviceAccountKey}`,
          `--root-ca-file=${files.caCert}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          '--profiling=false',
        ],
        join(dir, 'kube-controller-manager.log'),
      );
      processes.push(kcm);
      // The serviceaccount controller creating `default` in `default` shows its informers run.
      if (controllers.includes('serviceaccount-controller')) {
        await waitUntilReady(
          kcm,
          async () => (await get('/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
          timeoutMs,
        );
      }
    }

    for (const crd of options.crds ?? []) await installCrd(url, ca.cert, admin, crd, timeoutMs);

    let stopped: Promise<void> | undefined;
    return {
      url,
      caCert: ca.cert,
      version: apiserverBin.version,
      dir,
      kubeconfig,
      writeKubeconfig: (path, user) => writeFileSync(path, kubeconfig(user), { mode: 0o600 }),
      token: userToken,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Creates a CRD and waits until its resources answer a list. Established alone is not enough: the
 * storage behind a new resource answers 429 `storage is (re)initializing` for a moment after it.
 * Returns the answer to the create, whose `warning` header holds what the server found questionable.
 */
export async function installCrd(
  url: string,
  caCert: string,
  token: string,
  crd: object,
  timeoutMs = 30_000,
): Promise<RawResponse> {
  const created = await request(url, caCert, {
    method: 'POST',
    path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    token,
    body: crd,
  });
  const { metadata, spec } = crd as CrdShape;
  const name = metadata?.name ?? '?';
  if (created.status !== 201) {
    throw new UnavailableError(
      `the API server refused CRD ${name} (${created.status}): ${statusMessage(created.body)}`,
    );
  }
  const lists = (spec?.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => `/apis/${spec?.group ?? ''}/${v.name}/${spec?.names?.plural ?? ''}`);
  const deadline = Date.now() + timeoutMs;
  for (const path of lists) {
    while ((await request(url, caCert, { path, token })).status !== 200) {
      if (Date.now() > deadline) {
        throw new UnavailableError(`the resources of CRD ${name} were not served after ${timeoutMs / 1000}s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return created;
}

interface CrdShape {
  metadata?: { name?: string };
  spec?: { group?: string; names?: { plural?: string }; versions?: { name: string; served?: boolean }[] };
}

/** The `message` of a Status body, or the body itself. */
export function statusMessage(body: unknown): string {
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : JSON.stringify(body);
}
