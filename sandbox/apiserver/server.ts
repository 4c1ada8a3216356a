/**
 * The sandbox API server: wires storage, the watch cache, admission, RBAC, the controllers and the
 * test hooks behind an HTTP(S) server that answers as kube-apiserver does.
 */
import { writeFileSync } from 'node:fs';
import {
  STATUS_CODES,
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { defaultAdmissionHooks } from './admission.js';
import { users as makeUsers } from './authn.js';
import { bootstrapRbac, forbidden, isAllowed, type Attributes, type RbacSource } from './authz.js';
import { decodeBody, mediaType, readBody } from './body.js';
import { Controllers } from './controllers.js';
import { FaultInjector } from './faults.js';
import { sandboxKubeconfig } from './kubeconfig.js';
import { serveNonResource } from './nonresource.js';
import { Objects, type WriteContext } from './objects.js';
import { Registry } from './registry.js';
import { RequestLog, type RequestRecord } from './request-log.js';
import { storageKey, type ResourceDef } from './resources.js';
import { serveRest } from './rest.js';
import { isTrue, parseResourcePath, verbOf, type ResourcePath } from './routes.js';
import { ApiError, badRequest, internalError, pathNotFound } from './status.js';
import { Store } from './store.js';
import {
  EXEC_PROTOCOLS,
  PORT_FORWARD_PROTOCOLS,
  pickContainer,
  requireBackend,
  serveExec,
  servePortForward,
} from './streams.js';
import { servingCertificate } from './tls.js';
import type { ApiServer, ApiServerOptions, KubeObject, UserInfo } from './types.js';
import { serveWatch } from './watch.js';
import { WatchHub } from './watch-hub.js';

const SYSTEM: UserInfo = { name: 'system:apiserver', groups: ['system:masters'] };

export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const now = options.clock ?? (() => new Date());
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls ?? true;
  const store = new Store();
  const hub = new WatchHub(options.historyWindow ?? 10_000, () => store.resourceVersion);
  const registry = new Registry();
  const objects = new Objects(store, registry, options.admission ?? defaultAdmissionHooks(), now);
  const systemCtx: WriteContext = {
    user: SYSTEM,
    fieldManager: 'kube-controller-manager',
    fieldValidation: 'Ignore',
    dryRun: false,
    warnings: [],
  };
  const controllers = new Controllers(store, registry, objects, systemCtx);
  store.onChange((e) => hub.record(e));
  store.onChange((e) => controllers.onChange(e));
  const faults = new FaultInjector(hub);
  const requests = new RequestLog();
  const users = makeUsers(options.users ?? {}, !tls);
  const backend = options.podBackend;
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;

  const def = (group: string, plural: string) => {
    const d = registry.byStorageKey(storageKey({ group, plural }));
    if (!d) throw new Error(`built-in ${plural} missing`);
    return d;
  };
  const bootCtx = { ...systemCtx, fieldManager: 'kube-apiserver' };
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    objects.create(
      def('', 'namespaces'),
      undefined,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      bootCtx,
    );
  }
  for (const o of bootstrapRbac())
    objects.create(
      def('rbac.authorization.k8s.io', `${(o.kind ?? '').toLowerCase()}s`),
      undefined,
      o,
      bootCtx,
    );
  objects.create(
    def('', 'services'),
    'default',
    {
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], type: 'ClusterIP' },
    },
    bootCtx,
  );
  for (const crd of options.crds ?? [])
    objects.create(
      def('apiextensions.k8s.io', 'customresourcedefinitions'),
      undefined,
      structuredClone(crd) as KubeObject,
      bootCtx,
    );
  controllers.run();

  const rbac: RbacSource = {
    role: (ns, name) =>
      store.get(storageKey({ group: 'rbac.authorization.k8s.io', plural: 'roles' }), ns, name),
    clusterRole: (name) =>
      store.get(storageKey({ group: 'rbac.authorization.k8s.io', plural: 'clusterroles' }), undefined, name),
    roleBindings: (ns) =>
      store.list(storageKey({ group: 'rbac.authorization.k8s.io', plural: 'rolebindings' }), ns),
    clusterRoleBindings: () =>
      store.list(storageKey({ group: 'rbac.authorization.k8s.io', plural: 'clusterrolebindings' })),
  };
  const authorize = (a: Attributes) => {
    if (!isAllowed(a, rbac)) throw forbidden(a);
  };

  /** Authenticates, resolves and authorizes a resource request; applies injected faults. */
  const admitRequest = async (req: IncomingMessage, record: RequestRecord, url: URL) => {
    const user = users.authenticate(req.headers.authorization);
    record.user = user.name;
    const path = parseResourcePath(url.pathname);
    if (!path) return { user, path: undefined, def: undefined };
    const watch = isTrue(url.searchParams.get('watch'));
    const verb = verbOf(req.method ?? 'GET', path, watch);
    Object.assign(record, {
      verb,
      resource: path.plural,
      subresource: path.subresource,
      namespace: path.namespace,
      name: path.name,
      watch,
    });
    const resourceDef = registry.find(path.group, path.version, path.plural);
    authorize({
      user,
      verb,
      path: url.pathname,
      resource: {
        group: path.group,
        resource: path.plural,
        subresource: path.subresource,
        namespace: path.namespace,
        name: path.name,
      },
    });
    if (!resourceDef) throw pathNotFound();
    const fault = faults.take({
      verb,
      resource: path.plural,
      group: path.group,
      subresource: path.subresource,
      namespace: path.namespace,
      name: path.name,
      user: user.name,
    });
    if (fault) await faults.wait(fault);
    if (fault?.error) throw fault.error;
    return { user, path, def: resourceDef };
  };

  const serverAddress = () => `${host}:${port}`;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const method = req.method ?? 'GET';
    const record: RequestRecord = {
      method,
      path: url.pathname,
      verb: method.toLowerCase(),
      user: '',
      code: 0,
      watch: false,
    };
    try {
      const { user, path, def: resourceDef } = await admitRequest(req, record, url);
      if (!path || !resourceDef) {
        authorize({ user, verb: method.toLowerCase(), path: url.pathname });
        const reply = serveNonResource(registry, url.pathname, req.headers.accept, serverAddress());
        record.code = reply.code;
        const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.code, { 'Content-Type': reply.contentType }).end(body);
        return;
      }
      const table = (req.headers.accept ?? '').includes('as=Table');
      if (record.watch) {
        serveWatch(
          req,
          res,
          { def: resourceDef, namespace: path.namespace, query: url.searchParams, table },
          { store, hub, now, bookmarkIntervalMs },
        );
        record.code = 200;
        return;
      }
      if (path.subresource === 'log' && resourceDef.kind === 'Pod' && resourceDef.group === '') {
        await serveLog(res, resourceDef, path, url.searchParams);
        record.code = 200;
        return;
      }
      if (
        path.subresource === 'exec' ||
        path.subresource === 'portforward' ||
        path.subresource === 'attach'
      ) {
        objects.get(resourceDef, path.namespace, path.name ?? '');
        throw badRequest('Upgrade request required');
      }
      const body = decodeBody(await readBody(req), req.headers['content-type']);
      if (resourceDef.kind === 'SelfSubjectAccessReview') {
        record.code = 201;
        send(res, 201, selfSubjectAccessReview(body, user), []);
        return;
      }
      const reply = serveRest(
        objects,
        {
          method,
          path,
          def: resourceDef,
          query: url.searchParams,
          body,
          contentType: mediaType(req.headers['content-type']),
          table,
          user,
          userAgent: req.headers['user-agent'] ?? '',
        },
        now(),
      );
      record.code = reply.code;
      send(res, reply.code, reply.body, reply.warnings);
    } catch (err) {
      const error = toApiError(err);
      record.code = error.code;
      if (!res.headersSent) send(res, error.code, error.toStatus(), []);
      else res.end();
    } finally {
      requests.record(record);
    }
  };

  const serveLog = async (
    res: ServerResponse,
    podDef: ResourceDef,
    path: ResourcePath,
    query: URLSearchParams,
  ) => {
    const pod = objects.get(podDef, path.namespace, path.name ?? '');
    const container = pickContainer(pod, query.get('container'));
    const tail = query.get('tailLines');
    const stream = await requireBackend(backend).logs(
      { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
      container,
      {
        follow: isTrue(query.get('follow')),
        previous: isTrue(query.get('previous')),
        ...(tail ? { tailLines: Number(tail) } : {}),
      },
    );
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    stream.pipe(res);
    res.on('close', () => stream.destroy());
  };

  const selfSubjectAccessReview = (body: unknown, user: UserInfo) => {
    const review = (body ?? {}) as {
      spec?: {
        resourceAttributes?: Record<string, string>;
        nonResourceAttributes?: { path?: string; verb?: string };
      };
    };
    const ra = review.spec?.resourceAttributes;
    const nra = review.spec?.nonResourceAttributes;
    const attributes: Attributes = ra
      ? {
          user,
          verb: ra.verb ?? '',
          path: '',
          resource: {
            group: ra.group ?? '',
            resource: ra.resource ?? '',
            subresource: ra.subresource || undefined,
            namespace: ra.namespace || undefined,
            name: ra.name || undefined,
          },
        }
      : { user, verb: nra?.verb ?? '', path: nra?.path ?? '' };
    const allowed = isAllowed(attributes, rbac);
    return {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {},
      spec: review.spec ?? {},
      status: { allowed, ...(allowed ? { reason: 'RBAC: allowed' } : {}) },
    };
  };

  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered, req) => {
      const wanted = (req.url ?? '').includes('/portforward') ? PORT_FORWARD_PROTOCOLS : EXEC_PROTOCOLS;
      return wanted.find((p) => offered.has(p)) ?? false;
    },
  });

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      verb: 'create',
      user: '',
      code: 0,
      watch: false,
    };
    try {
      const { path, def: podDef } = await admitRequest(req, record, url);
      if (
        !path ||
        !podDef ||
        podDef.kind !== 'Pod' ||
        podDef.group !== '' ||
        (path.subresource !== 'exec' && path.subresource !== 'portforward')
      ) {
        throw badRequest('this endpoint does not upgrade connections');
      }
      const pod = objects.get(podDef, path.namespace, path.name ?? '');
      const podBackend = requireBackend(backend);
      if (path.subresource === 'exec') pickContainer(pod, url.searchParams.get('container'));
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      const wanted = path.subresource === 'exec' ? EXEC_PROTOCOLS : PORT_FORWARD_PROTOCOLS;
      if (!wanted.some((p) => offered.includes(p))) {
        throw badRequest(
          `unable to upgrade: the client offered none of the supported protocols ${wanted.join(', ')} (kubectl port-forward's SPDY is not served)`,
        );
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (path.subresource === 'exec') serveExec(ws, pod, podBackend, url.searchParams);
        else servePortForward(ws, pod, podBackend, url.searchParams);
      });
      record.code = 101;
    } catch (err) {
      const error = toApiError(err);
      record.code = error.code;
      const body = JSON.stringify(error.toStatus());
      socket.end(
        `HTTP/1.1 ${error.code} ${STATUS_CODES[error.code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    } finally {
      requests.record(record);
    }
  };

  const cert = tls ? servingCertificate(host, now()) : undefined;
  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server: Server = cert
    ? createHttpsServer({ cert: cert.cert, key: cert.key }, listener)
    : createHttpServer(listener);
  server.on(
    'upgrade',
    (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(req, socket, head),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const caCert = cert?.ca ?? '';

  return {
    url,
    caCert,
    kubeconfig: (user = 'admin') => sandboxKubeconfig(url, caCert, user, users.token(user)),
    writeKubeconfig(file, user = 'admin') {
      writeFileSync(file, sandboxKubeconfig(url, caCert, user, users.token(user)), { mode: 0o600 });
    },
    token: (user = 'admin') => users.token(user),
    requests,
    faults,
    async stop() {
      controllers.stop();
      hub.dropAll(true);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, code: number, body: unknown, warnings: string[]): void {
  const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json' };
  if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  if (code === 429) headers['Retry-After'] = '1';
  res.writeHead(code, headers).end(JSON.stringify(body));
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return internalError((err as Error).message ?? String(err));
}
