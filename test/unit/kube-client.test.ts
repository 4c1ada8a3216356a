/**
 * The KubeClient's requests on the wire, against a stub HTTP server that records them and answers
 * what each test scripts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import t from 'tap';
import { GoneError, NotFoundError, UnavailableError, UsageError } from '../../lib/errors.js';
import {
  ConfigMaps,
  EtcdClusters,
  KubeClient,
  Leases,
  type WatchEvent,
  type KubeObject,
} from '../../lib/kube/index.js';
import { freePort } from '../helpers/etcd.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

type Answer = (req: Seen, res: ServerResponse) => void;

async function stub(t: { teardown(fn: () => unknown): void }, answer: Answer) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const record: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body: text ? (JSON.parse(text) as unknown) : undefined,
      };
      seen.push(record);
      answer(record, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = new KubeClient(kubeConfig(`http://127.0.0.1:${port}`));
  t.teardown(() => client.close());
  return { seen, client };
}

function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

const json = (res: ServerResponse, code: number, body: unknown) => {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

const echo: Answer = (req, res) =>
  json(res, req.method === 'POST' ? 201 : 200, req.body ?? { kind: 'ConfigMap' });

t.test(
  'reads and writes go to the right paths with the right verbs, content types and credentials',
  async (t) => {
    const { seen, client } = await stub(t, echo);
    const cm = { metadata: { name: 'a', namespace: 'x', resourceVersion: '3' }, data: { k: 'v' } };
    await client.get(ConfigMaps, { namespace: 'x', name: 'a' });
    await client.create(ConfigMaps, cm, { fieldManager: 'op', dryRun: true });
    await client.update(ConfigMaps, cm);
    await client.updateStatus(EtcdClusters, { metadata: { name: 'e', namespace: 'x' } } as never);
    await client.patch(
      ConfigMaps,
      { namespace: 'x', name: 'a' },
      { type: 'merge', body: { data: { k: 'w' } } },
    );
    await client.patch(
      ConfigMaps,
      { namespace: 'x', name: 'a' },
      { type: 'json', ops: [{ op: 'remove', path: '/data/k' }] },
    );
    await client.patch(ConfigMaps, { namespace: 'x', name: 'a' }, { type: 'strategic', body: {} });
    await client.apply(
      Leases,
      { metadata: { name: 'l', namespace: 'x' } },
      { fieldManager: 'op', force: true },
    );
    await client.delete(
      ConfigMaps,
      { namespace: 'x', name: 'a' },
      {
        propagationPolicy: 'Foreground',
        preconditions: { uid: 'u1', resourceVersion: '3' },
      },
    );
    await client.scale(EtcdClusters, { namespace: 'x', name: 'e' }, 5);
    await client.getScale(EtcdClusters, { namespace: 'x', name: 'e' });
    t.same(
      seen.map((s) => `${s.method} ${s.url} ${s.contentType ?? '-'}`),
      [
        'GET /api/v1/namespaces/x/configmaps/a -',
        'POST /api/v1/namespaces/x/configmaps?fieldManager=op&dryRun=All application/json',
        'PUT /api/v1/namespaces/x/configmaps/a application/json',
        'PUT /apis/etcd.io/v1alpha1/namespaces/x/etcdclusters/e/status application/json',
        'PATCH /api/v1/namespaces/x/configmaps/a application/merge-patch+json',
        'PATCH /api/v1/namespaces/x/configmaps/a application/json-patch+json',
        'PATCH /api/v1/namespaces/x/configmaps/a application/strategic-merge-patch+json',
        'PATCH /apis/coordination.k8s.io/v1/namespaces/x/leases/l?fieldManager=op&force=true application/apply-patch+yaml',
        'DELETE /api/v1/namespaces/x/configmaps/a application/json',
        'PATCH /apis/etcd.io/v1alpha1/namespaces/x/etcdclusters/e/scale application/merge-patch+json',
        'GET /apis/etcd.io/v1alpha1/namespaces/x/etcdclusters/e/scale -',
      ],
    );
    t.ok(
      seen.every((s) => s.authorization === 'Bearer secret-token'),
      'every request carries the credentials',
    );
    t.match(
      seen[1]?.body,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
      'type meta filled in',
    );
    t.same(seen[5]?.body, [{ op: 'remove', path: '/data/k' }]);
    t.match(seen[7]?.body, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' });
    t.same(seen[8]?.body, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Foreground',
      preconditions: { uid: 'u1', resourceVersion: '3' },
    });
    t.same(seen[9]?.body, { spec: { replicas: 5 } });
  },
);

t.test('server-side apply needs a field manager, and names and namespaces are checked first', async (t) => {
  const { seen, client } = await stub(t, echo);
  await t.rejects(
    client.apply(ConfigMaps, { metadata: { name: 'a', namespace: 'x' } }, { fieldManager: '' }),
    UsageError,
  );
  await t.rejects(
    client.create(ConfigMaps, { metadata: { name: 'a' } }),
    UsageError,
    'a namespaced kind needs a namespace',
  );
  await t.rejects(client.get(ConfigMaps, { namespace: 'x', name: '' }), UsageError);
  t.equal(seen.length, 0, 'nothing was sent');
});

t.test('list follows continue tokens and returns the resourceVersion of the list', async (t) => {
  const { seen, client } = await stub(t, (req, res) => {
    const url = new URL(req.url, 'http://x');
    const token = url.searchParams.get('continue');
    json(res, 200, {
      kind: 'ConfigMapList',
      metadata: { resourceVersion: '42', continue: token ? '' : 'page2' },
      items: [{ metadata: { name: token ? 'b' : 'a' } }],
    });
  });
  const list = await client.list(ConfigMaps, {
    namespace: 'x',
    labelSelector: { matchLabels: { app: 'etcd' } },
    pageSize: 1,
  });
  t.same(
    list.items.map((i) => i.metadata?.name),
    ['a', 'b'],
  );
  t.equal(list.resourceVersion, '42');
  t.same(
    seen.map((s) => s.url),
    [
      '/api/v1/namespaces/x/configmaps?labelSelector=app%3Detcd&limit=1',
      '/api/v1/namespaces/x/configmaps?labelSelector=app%3Detcd&limit=1&continue=page2',
    ],
  );
});

t.test('watch streams events line by line and ends when the server ends it', async (t) => {
  const { seen, client } = await stub(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const event = (type: string, name: string, rv: string) =>
      JSON.stringify({ type, object: { metadata: { name, resourceVersion: rv } } }) + '\n';
    const all = event('ADDED', 'a', '5') + event('MODIFIED', 'a', '6') + event('BOOKMARK', '', '7');
    // Split mid-line, as a network would.
    res.write(all.slice(0, 30));
    setTimeout(() => res.end(all.slice(30)), 10);
  });
  const events: WatchEvent<KubeObject>[] = [];
  await client.watch(ConfigMaps, { resourceVersion: '4', timeoutSeconds: 60 }, (e) => events.push(e));
  t.same(
    events.map((e) => `${e.type} ${e.object.metadata?.resourceVersion}`),
    ['ADDED 5', 'MODIFIED 6', 'BOOKMARK 7'],
  );
  t.equal(
    seen[0]?.url,
    '/api/v1/configmaps?watch=true&resourceVersion=4&allowWatchBookmarks=true&timeoutSeconds=60',
  );
});

t.test('a watch ERROR event with code 410 rejects with GoneError; an HTTP 410 too', async (t) => {
  let call = 0;
  const { client } = await stub(t, (_req, res) => {
    if (call++ === 0) {
      res.writeHead(200);
      res.end(
        JSON.stringify({
          type: 'ERROR',
          object: {
            kind: 'Status',
            code: 410,
            reason: 'Expired',
            message: 'too old resource version: 4 (90)',
          },
        }) + '\n',
      );
    } else json(res, 410, { kind: 'Status', code: 410, reason: 'Gone', message: 'gone' });
  });
  await t.rejects(
    client.watch(ConfigMaps, { resourceVersion: '4' }, () => undefined),
    GoneError,
  );
  await t.rejects(
    client.watch(ConfigMaps, { resourceVersion: '4' }, () => undefined),
    GoneError,
  );
});

t.test('a watch cut off mid-stream rejects with UnavailableError; aborting ends it quietly', async (t) => {
  let call = 0;
  const { client } = await stub(t, (_req, res) => {
    res.writeHead(200);
    res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
    if (call++ === 0) setTimeout(() => res.destroy(), 10);
  });
  await t.rejects(
    client.watch(ConfigMaps, { resourceVersion: '1' }, () => undefined),
    UnavailableError,
  );
  const abort = new AbortController();
  const events: unknown[] = [];
  const watching = client.watch(ConfigMaps, { resourceVersion: '1', signal: abort.signal }, (e) => {
    events.push(e);
    abort.abort();
  });
  await t.resolves(watching);
  t.equal(events.length, 1);
});

t.test('errors come back typed; a refused connection is UnavailableError without the token', async (t) => {
  const { client } = await stub(t, (_req, res) =>
    json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'configmaps "a" not found' }),
  );
  await t.rejects(client.get(ConfigMaps, { namespace: 'x', name: 'a' }), NotFoundError);
  const port = await freePort();
  const nowhere = new KubeClient(kubeConfig(`http://127.0.0.1:${port}`));
  const err = await nowhere.get(ConfigMaps, { namespace: 'x', name: 'a' }).catch((e: unknown) => e);
  t.type(err, UnavailableError);
  t.match((err as Error).message, /cannot reach the API server at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  t.notMatch((err as Error).message, /secret-token/);
});
