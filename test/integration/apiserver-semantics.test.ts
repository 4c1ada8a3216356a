/**
 * Sandbox API server semantics over raw HTTP (plain-HTTP mode): strategic merge patch, generation,
 * owner-reference garbage collection, namespace deletion, watch (selectors, bookmarks, 410 Gone,
 * timeouts), server-side apply by an operator, CRD lifecycle, and the request log.
 */
import t from 'tap';
import type { ApiServer } from '../../sandbox/index.js';
import { eventually, startTestApiServer } from '../helpers/apiserver.js';

/** The parts of answers these tests read. */
interface Body {
  message?: string;
  metadata: {
    name?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    managedFields?: { manager: string; operation: string }[];
    continue?: string;
  };
  spec: { containers?: unknown[]; ports?: unknown[]; selector?: Record<string, string>; a?: string };
  status: { phase?: string; conditions?: unknown[] };
  items: { metadata: { name: string } }[];
  details: { causes?: unknown[] };
}

interface Answer {
  status: number;
  body: Body;
  headers: Headers;
}

function client(server: ApiServer) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<Answer> => {
    const res = await fetch(server.url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: (text.startsWith('{') ? JSON.parse(text) : { text }) as Body,
      headers: res.headers,
    };
  };
}

/** Reads a watch stream until it ends (or `count` events arrived), as parsed events. */
async function watchEvents(server: ApiServer, path: string, count = Infinity, onOpen?: () => Promise<void>) {
  const controller = new AbortController();
  const res = await fetch(server.url + path, { signal: controller.signal });
  const events: { type: string; object: Body }[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const opened = onOpen?.();
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buffer.slice(0, nl)) as (typeof events)[number]);
      buffer = buffer.slice(nl + 1);
    }
  }
  controller.abort();
  await opened;
  return events;
}

const cm = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...extra },
});
const CMS = '/api/v1/namespaces/default/configmaps';

t.test('plain HTTP mode: a request without a token is admin, and there is no CA', async (t) => {
  const plain = await startTestApiServer(t, { tls: false });
  t.match(plain.url, /^http:\/\//);
  t.equal((await client(plain)('GET', CMS)).status, 200);
  t.equal(plain.caCert, '');
});

t.test('strategic merge patch merges containers and env by name and honours directives', async (t) => {
  const server = await startTestApiServer(t, { tls: false });
  const api = client(server);
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', finalizers: ['a/one'] },
    spec: {
      containers: [
        {
          name: 'etcd',
          image: 'etcd:1',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
        },
        { name: 'sidecar', image: 'busybox' },
      ],
    },
  };
  t.equal((await api('POST', '/api/v1/namespaces/default/pods', pod)).status, 201);
  const patched = await api(
    'PATCH',
    '/api/v1/namespaces/default/pods/p',
    {
      metadata: { finalizers: ['a/two'] },
      spec: {
        containers: [
          {
            name: 'etcd',
            image: 'etcd:2',
            env: [
              { name: 'B', value: '3' },
              { name: 'A', $patch: 'delete' },
            ],
          },
          { name: 'sidecar', $patch: 'delete' },
        ],
      },
    },
    'application/strategic-merge-patch+json',
  );
  t.equal(patched.status, 200);
  t.same(patched.body.spec.containers, [{ name: 'etcd', image: 'etcd:2', env: [{ name: 'B', value: '3' }] }]);
  t.same(patched.body.metadata.finalizers, ['a/one', 'a/two'], 'finalizers merge as a set');
  const replaced = await api(
    'PATCH',
    '/api/v1/namespaces/default/pods/p',
    { metadata: { finalizers: null } },
    'application/merge-patch+json',
  );
  t.equal(replaced.body.metadata.finalizers, undefined);
});

t.test('the generation moves with spec changes only; a no-op write keeps the resourceVersion', async (t) => {
  const server = await startTestApiServer(t, {
    tls: false,
    crds: (await import('../../generated/crds.js')).crds,
  });
  const api = client(server);
  const path = '/apis/etcd.io/v1alpha1/namespaces/default/etcdclusters';
  const created = await api('POST', path, {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'g' },
    spec: {},
  });
  t.equal(created.body.metadata.generation, 1);
  const labelled = await api(
    'PATCH',
    `${path}/g`,
    { metadata: { labels: { a: 'b' } } },
    'application/merge-patch+json',
  );
  t.equal(labelled.body.metadata.generation, 1, 'labels are not spec');
  const same = await api(
    'PATCH',
    `${path}/g`,
    { metadata: { labels: { a: 'b' } } },
    'application/merge-patch+json',
  );
  t.equal(
    same.body.metadata.resourceVersion,
    labelled.body.metadata.resourceVersion,
    'nothing changed, nothing written',
  );
  const resized = await api('PATCH', `${path}/g`, { spec: { size: 5 } }, 'application/merge-patch+json');
  t.equal(resized.body.metadata.generation, 2);
  const warned = await api('PATCH', `${path}/g`, { spec: { size: 4 } }, 'application/merge-patch+json');
  t.match(
    warned.headers.get('warning'),
    /^299 - "spec.size: 4 members tolerate no more failures than 3; prefer an odd size"/,
  );
  const downgrade = await api(
    'PATCH',
    `${path}/g`,
    { spec: { version: '3.4.0' } },
    'application/merge-patch+json',
  );
  t.equal(downgrade.status, 422);
  t.match(downgrade.body.details.causes, [{ field: 'spec.version', reason: 'FieldValueForbidden' }]);
});

t.test('owner references: background, foreground and orphan deletion', async (t) => {
  const server = await startTestApiServer(t, { tls: false });
  const api = client(server);
  const owner = async (name: string) => (await api('POST', CMS, cm(name))).body.metadata.uid ?? '';
  const dependent = (name: string, ownerName: string, uid: string, extra: Record<string, unknown> = {}) =>
    api(
      'POST',
      CMS,
      cm(name, {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: ownerName, uid, blockOwnerDeletion: true },
        ],
        ...extra,
      }),
    );
  const gone = (name: string) =>
    eventually(async () => ((await api('GET', `${CMS}/${name}`)).status === 404 ? true : undefined));

  await dependent('bg-child', 'bg', await owner('bg'));
  t.equal((await api('DELETE', `${CMS}/bg`)).status, 200);
  await gone('bg-child');

  await dependent('fg-child', 'fg', await owner('fg'), { finalizers: ['test/hold'] });
  const fg = await api('DELETE', `${CMS}/fg`, { propagationPolicy: 'Foreground' });
  t.same(fg.body.metadata.finalizers, ['foregroundDeletion']);
  const child = await eventually(async () => {
    const c = await api('GET', `${CMS}/fg-child`);
    return c.body.metadata.deletionTimestamp ? c : undefined;
  });
  t.ok(child, 'the dependent is being deleted');
  t.equal((await api('GET', `${CMS}/fg`)).status, 200, 'the owner waits for its dependents');
  await api('PATCH', `${CMS}/fg-child`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
  await gone('fg-child');
  await gone('fg');

  await dependent('or-child', 'or', await owner('or'));
  t.equal((await api('DELETE', `${CMS}/or?propagationPolicy=Orphan`)).status, 200);
  await gone('or');
  const orphan = await api('GET', `${CMS}/or-child`);
  t.equal(orphan.status, 200);
  t.equal(orphan.body.metadata.ownerReferences, undefined, 'the orphan lost its owner reference');
});

t.test(
  'deleting a namespace deletes its contents, refuses new content, then the namespace goes',
  async (t) => {
    const server = await startTestApiServer(t, { tls: false });
    const api = client(server);
    await api('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'doomed' },
    });
    const sa = await eventually(async () =>
      (await api('GET', '/api/v1/namespaces/doomed/serviceaccounts/default')).status === 200
        ? true
        : undefined,
    );
    t.ok(sa, 'a new namespace gets its default ServiceAccount');
    await api('POST', '/api/v1/namespaces/doomed/configmaps', cm('plain'));
    await api('POST', '/api/v1/namespaces/doomed/configmaps', cm('held', { finalizers: ['test/hold'] }));
    const deleting = await api('DELETE', '/api/v1/namespaces/doomed');
    t.equal(deleting.body.status.phase, 'Terminating');
    await eventually(async () =>
      (await api('GET', '/api/v1/namespaces/doomed/configmaps/plain')).status === 404 ? true : undefined,
    );
    const late = await api('POST', '/api/v1/namespaces/doomed/configmaps', cm('late'));
    t.equal(late.status, 403);
    t.equal(
      late.body.message,
      'configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated',
    );
    t.equal(
      (await api('GET', '/api/v1/namespaces/doomed')).status,
      200,
      'held by the finalizer of its content',
    );
    await api(
      'PATCH',
      '/api/v1/namespaces/doomed/configmaps/held',
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
    await eventually(async () =>
      (await api('GET', '/api/v1/namespaces/doomed')).status === 404 ? true : undefined,
    );
    t.equal((await api('DELETE', '/api/v1/namespaces/default')).status, 403, 'default may not be deleted');
  },
);

t.test('watch: initial state, selector transitions, bookmarks, timeouts and 410 Gone', async (t) => {
  const server = await startTestApiServer(t, { tls: false, historyWindow: 5 });
  const api = client(server);
  await api('POST', CMS, cm('a', { labels: { team: 'x' } }));
  const initial = await watchEvents(server, `${CMS}?watch=true&labelSelector=team%3Dx`, 1);
  t.same(
    initial.map((e) => [e.type, e.object.metadata.name]),
    [['ADDED', 'a']],
    'no resourceVersion: the current state first',
  );

  const rv = (await api('GET', CMS)).body.metadata.resourceVersion as string;
  const transitions = await watchEvents(
    server,
    `${CMS}?watch=true&labelSelector=team%3Dx&resourceVersion=${rv}&allowWatchBookmarks=true`,
    4,
    async () => {
      await eventually(() =>
        server.requests.count({ verb: 'watch', resource: 'configmaps' }) >= 2 ? true : undefined,
      );
      await api('PATCH', `${CMS}/a`, { metadata: { labels: { team: 'y' } } }, 'application/merge-patch+json');
      await api('POST', CMS, cm('b'));
      await api('PATCH', `${CMS}/b`, { metadata: { labels: { team: 'x' } } }, 'application/merge-patch+json');
      await api('PATCH', `${CMS}/b`, { data: { k: 'v' } }, 'application/merge-patch+json');
      server.faults.sendBookmarks();
    },
  );
  t.same(
    transitions.map((e) => [e.type, e.object.metadata.name]),
    [
      ['DELETED', 'a'],
      ['ADDED', 'b'],
      ['MODIFIED', 'b'],
      ['BOOKMARK', undefined],
    ],
    'leaving the selection is DELETED, entering it ADDED',
  );
  t.equal(
    transitions[3]?.object.metadata.resourceVersion,
    String((await api('GET', CMS)).body.metadata.resourceVersion),
  );

  const timedOut = await watchEvents(
    server,
    `${CMS}?watch=true&resourceVersion=${rv}&timeoutSeconds=1&fieldSelector=metadata.name%3Dnone`,
  );
  t.same(timedOut, [], 'timeoutSeconds ends the stream');

  for (let i = 0; i < 6; i++) await api('POST', CMS, cm(`filler-${i}`));
  const expired = await watchEvents(server, `${CMS}?watch=true&resourceVersion=${rv}`);
  t.equal(expired.length, 1);
  t.match(expired[0], {
    type: 'ERROR',
    object: { kind: 'Status', code: 410, reason: 'Expired', message: /^too old resource version: / },
  });
});

t.test('lists page with limit and continue; deletecollection deletes what matches', async (t) => {
  const server = await startTestApiServer(t, { tls: false });
  const api = client(server);
  for (let i = 0; i < 25; i++)
    await api(
      'POST',
      CMS,
      cm(`item-${String(i).padStart(2, '0')}`, { labels: { batch: i % 2 ? 'odd' : 'even' } }),
    );
  const names: string[] = [];
  let next = '';
  let pages = 0;
  do {
    const page = await api('GET', `${CMS}?labelSelector=batch&limit=10${next ? `&continue=${next}` : ''}`);
    names.push(...page.body.items.map((i) => i.metadata.name));
    next = page.body.metadata.continue ?? '';
    pages++;
  } while (next);
  t.equal(pages, 3);
  t.equal(names.length, 25);
  t.same(names, [...names].sort(), 'in name order');
  const dry = await api('DELETE', `${CMS}?labelSelector=batch%3Dodd`, {
    kind: 'DeleteOptions',
    apiVersion: 'v1',
    dryRun: ['All'],
  });
  t.equal(dry.body.items.length, 12, 'a dry run answers what it would delete');
  t.equal((await api('GET', `${CMS}?labelSelector=batch`)).body.items.length, 25, 'and deletes nothing');
  const removed = await api('DELETE', `${CMS}?labelSelector=batch%3Dodd`);
  t.equal(removed.body.items.length, 12);
  t.equal((await api('GET', `${CMS}?labelSelector=batch`)).body.items.length, 13);
});

t.test('server-side apply by an operator: owned fields follow its configuration', async (t) => {
  const server = await startTestApiServer(t, { tls: false });
  const api = client(server);
  const apply = (body: object, manager = 'etcd-operator', force = false) =>
    api(
      'PATCH',
      `/api/v1/namespaces/default/services/peers?fieldManager=${manager}${force ? '&force=true' : ''}`,
      body,
      'application/apply-patch+yaml',
    );
  const svc = (ports: object[], selector: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'peers', labels: { app: 'etcd' } },
    spec: { clusterIP: 'None', ports, selector },
  });
  const created = await apply(
    svc(
      [
        { name: 'peer', port: 2380 },
        { name: 'client', port: 2379 },
      ],
      { app: 'etcd', tier: 'db' },
    ),
  );
  t.equal(created.status, 201);
  await api(
    'PATCH',
    '/api/v1/namespaces/default/services/peers?fieldManager=someone',
    { metadata: { annotations: { note: 'kept' } } },
    'application/merge-patch+json',
  );
  const updated = await apply(svc([{ name: 'peer', port: 2380 }], { app: 'etcd' }));
  t.equal(updated.status, 200);
  t.same(updated.body.spec.ports, [{ name: 'peer', port: 2380 }], 'a port it no longer applies is removed');
  t.same(updated.body.spec.selector, { app: 'etcd' });
  t.same(updated.body.metadata.annotations, { note: 'kept' }, "another manager's field stays");
  t.same(
    (updated.body.metadata.managedFields as { manager: string; operation: string }[]).map(
      (e) => `${e.manager} ${e.operation}`,
    ),
    ['someone Update', 'etcd-operator Apply'],
  );
  const conflicting = await apply(
    {
      ...svc([{ name: 'peer', port: 2380 }], { app: 'etcd' }),
      metadata: { name: 'peers', annotations: { note: 'mine' } },
    },
    'other',
  );
  t.equal(conflicting.status, 409);
  t.match(
    conflicting.body.message,
    /^Apply failed with 1 conflict: conflict with "someone" using v1: .metadata.annotations.note$/,
  );
});

t.test(
  'CRDs: a non-structural schema is refused; deleting a CRD removes its objects and its API',
  async (t) => {
    const server = await startTestApiServer(t, { tls: false });
    const api = client(server);
    const crd = (schema: object) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
      },
    });
    const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
    const refused = await api(
      'POST',
      CRDS,
      crd({ type: 'object', properties: { spec: { properties: { a: { type: 'string' } } } } }),
    );
    t.equal(refused.status, 422);
    t.match(refused.body.details.causes, [
      { field: 'spec.versions[0].schema.openAPIV3Schema.properties[spec].type' },
    ]);

    const created = await api(
      'POST',
      CRDS,
      crd({
        type: 'object',
        properties: { spec: { type: 'object', properties: { a: { type: 'string', default: 'x' } } } },
      }),
    );
    t.equal(created.status, 201);
    t.match(created.body.status.conditions, [
      { type: 'NamesAccepted' },
      { type: 'Established', status: 'True' },
    ]);
    const widget = await api('POST', '/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: {},
    });
    t.same(widget.body.spec, { a: 'x' }, 'defaulted by its own schema');
    t.equal((await api('DELETE', `${CRDS}/widgets.example.com`)).status, 200);
    t.equal((await api('GET', '/apis/example.com/v1/namespaces/default/widgets/w')).status, 404);
    t.equal((await api('GET', '/apis/example.com/v1')).status, 404, 'no longer served');
  },
);

t.test('the request log counts by verb, resource and user', async (t) => {
  const server = await startTestApiServer(t, { tls: false });
  const api = client(server);
  server.requests.clear();
  await api('POST', CMS, cm('x'));
  await api('GET', `${CMS}/x`);
  await api('GET', `${CMS}/missing`);
  t.same(server.requests.countBy('verb'), { create: 1, get: 2 });
  t.same(server.requests.countBy('code', { verb: 'get' }), { '200': 1, '404': 1 });
  t.equal(server.requests.count({ resource: 'configmaps', user: 'admin', namespace: 'default' }), 3);
  server.faults.inject({ verb: 'get', resource: 'configmaps', status: 429, times: 1 });
  const throttled = await api('GET', `${CMS}/x`);
  t.equal(throttled.status, 429);
  t.equal(throttled.headers.get('retry-after'), '1');
});
