/**
 * The sandbox API server's pure rules, by tables: Table durations, selectors, URL routing,
 * strategic merge patch, RBAC evaluation and apply-conflict wording.
 */
import t from 'tap';
import { forbidden, isAllowed, type RbacSource } from '../../sandbox/apiserver/authz.js';
import { conflictMessage } from '../../sandbox/apiserver/managed-fields.js';
import { mergePatch, strategicMergePatch } from '../../sandbox/apiserver/patch.js';
import { parseResourcePath, verbOf } from '../../sandbox/apiserver/routes.js';
import { fieldPredicate, parseFieldSelector, parseLabelSelector } from '../../sandbox/apiserver/selectors.js';
import { humanDuration } from '../../sandbox/apiserver/table.js';
import type { KubeObject } from '../../sandbox/apiserver/types.js';

t.test('Table ages are kubectl short durations', async (t) => {
  const s = 1000;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [0, '0s'],
    [119 * s, '119s'],
    [120 * s, '2m'],
    [125 * s, '2m5s'],
    [10 * 60 * s, '10m'],
    [179 * 60 * s, '179m'],
    [3 * 3600 * s, '3h'],
    [(3 * 3600 + 300) * s, '3h5m'],
    [47 * 3600 * s, '47h'],
    [48 * 3600 * s, '2d'],
    [53 * 3600 * s, '2d5h'],
    [10 * 86400 * s, '10d'],
    [800 * 86400 * s, '2y70d'],
    [9 * 365 * 86400 * s, '9y'],
  ];
  for (const [ms, want] of cases) t.equal(humanDuration(ms), want, `${ms} ms`);
});

t.test('label selectors: every operator', async (t) => {
  const objects: KubeObject[] = [
    { metadata: { name: 'a', labels: { app: 'etcd', tier: 'db' } } },
    { metadata: { name: 'b', labels: { app: 'etcd', tier: 'cache' } } },
    { metadata: { name: 'c', labels: { app: 'web' } } },
    { metadata: { name: 'd' } },
  ];
  const cases: [string, string[]][] = [
    ['', ['a', 'b', 'c', 'd']],
    ['app=etcd', ['a', 'b']],
    ['app==etcd', ['a', 'b']],
    ['app!=etcd', ['c', 'd']],
    ['tier in (db, cache)', ['a', 'b']],
    ['tier notin (db)', ['b', 'c', 'd']],
    ['tier', ['a', 'b']],
    ['!tier', ['c', 'd']],
    ['app=etcd,tier!=db', ['b']],
    ['app in (etcd,web),!tier', ['c']],
  ];
  for (const [selector, want] of cases) {
    const match = parseLabelSelector(selector);
    t.same(
      objects.filter(match).map((o) => o.metadata.name),
      want,
      selector,
    );
  }
  t.throws(() => parseLabelSelector('a in (b'), { code: 400, reason: 'BadRequest' });
});

t.test('field selectors: supported fields only, = and !=', async (t) => {
  const pod: KubeObject = {
    metadata: { name: 'p', namespace: 'x' },
    spec: { nodeName: 'n1' },
    status: { phase: 'Running' },
  };
  const supported = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase'];
  const match = (s: string) => fieldPredicate(parseFieldSelector(s), supported)(pod);
  t.equal(match('spec.nodeName=n1,status.phase=Running'), true);
  t.equal(match('spec.nodeName==n1'), true);
  t.equal(match('status.phase!=Running'), false);
  t.equal(match('spec.nodeName='), false, 'an empty value matches an absent field only');
  t.throws(() => match('spec.foo=bar'), {
    code: 400,
    message:
      '"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"',
  });
});

t.test('URL paths map to resources, namespaces and subresources', async (t) => {
  const cases: [string, ReturnType<typeof parseResourcePath>][] = [
    ['/api/v1/pods', { group: '', version: 'v1', plural: 'pods', name: undefined, subresource: undefined }],
    [
      '/api/v1/namespaces',
      { group: '', version: 'v1', plural: 'namespaces', name: undefined, subresource: undefined },
    ],
    [
      '/api/v1/namespaces/x',
      { group: '', version: 'v1', plural: 'namespaces', name: 'x', subresource: undefined },
    ],
    [
      '/api/v1/namespaces/x/status',
      { group: '', version: 'v1', plural: 'namespaces', name: 'x', subresource: 'status' },
    ],
    [
      '/api/v1/namespaces/x/pods/p/exec',
      { group: '', version: 'v1', namespace: 'x', plural: 'pods', name: 'p', subresource: 'exec' },
    ],
    [
      '/apis/etcd.io/v1alpha1/namespaces/x/etcdclusters/e/scale',
      {
        group: 'etcd.io',
        version: 'v1alpha1',
        namespace: 'x',
        plural: 'etcdclusters',
        name: 'e',
        subresource: 'scale',
      },
    ],
    ['/apis/etcd.io/v1alpha1', undefined],
    ['/version', undefined],
    ['/api/v1/namespaces/x/pods/p/exec/more', undefined],
  ];
  for (const [path, want] of cases) t.same(parseResourcePath(path), want, path);
  const pods = { group: '', version: 'v1', plural: 'pods' };
  t.equal(verbOf('GET', pods, false), 'list');
  t.equal(verbOf('GET', pods, true), 'watch');
  t.equal(verbOf('DELETE', pods, false), 'deletecollection');
  t.equal(
    verbOf('GET', { ...pods, name: 'p', subresource: 'exec' }, false),
    'create',
    'exec is create, as RBAC sees it',
  );
});

t.test('strategic merge patch versus JSON merge patch', async (t) => {
  const pod = {
    metadata: { finalizers: ['a'], ownerReferences: [{ uid: '1', name: 'x' }] },
    spec: {
      containers: [
        {
          name: 'etcd',
          image: 'etcd:1',
          ports: [{ containerPort: 2379, name: 'client' }],
          volumeMounts: [{ mountPath: '/d', name: 'data' }],
        },
        { name: 'side', image: 'b' },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
      tolerations: [{ key: 'a' }],
    },
  };
  const cases: [string, unknown, unknown][] = [
    [
      'containers merge by name',
      { spec: { containers: [{ name: 'etcd', image: 'etcd:2' }] } },
      { image: 'etcd:2', ports: [{ containerPort: 2379, name: 'client' }] },
    ],
    [
      'container ports merge by containerPort',
      { spec: { containers: [{ name: 'etcd', ports: [{ containerPort: 2380, name: 'peer' }] }] } },
      {
        ports: [
          { containerPort: 2379, name: 'client' },
          { containerPort: 2380, name: 'peer' },
        ],
      },
    ],
  ];
  for (const [name, patch, want] of cases) {
    const out = strategicMergePatch(structuredClone(pod), patch) as typeof pod;
    t.match(out.spec.containers[0], want, name);
    t.equal(out.spec.containers.length, 2, `${name}: the other container stays`);
  }
  const atomic = strategicMergePatch(structuredClone(pod), {
    spec: { tolerations: [{ key: 'b' }] },
  }) as typeof pod;
  t.same(atomic.spec.tolerations, [{ key: 'b' }], 'a list without a merge key is replaced');
  const deleted = strategicMergePatch(structuredClone(pod), {
    spec: { volumes: [{ name: 'data', $patch: 'delete' }] },
  }) as typeof pod;
  t.same(deleted.spec.volumes, []);
  const ordered = strategicMergePatch(structuredClone(pod), {
    spec: {
      '$setElementOrder/containers': [{ name: 'side' }, { name: 'etcd' }],
    },
  }) as typeof pod;
  t.same(
    ordered.spec.containers.map((c) => c.name),
    ['side', 'etcd'],
  );
  const fromList = strategicMergePatch(structuredClone(pod), {
    metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
  }) as typeof pod;
  t.same(fromList.metadata.finalizers, []);
  const replaced = strategicMergePatch(structuredClone(pod), {
    spec: { $patch: 'replace', volumes: [] },
  }) as typeof pod;
  t.same(replaced.spec, { volumes: [] });
  const merged = mergePatch(structuredClone(pod), {
    spec: { containers: [{ name: 'only' }] },
    metadata: { finalizers: null },
  }) as typeof pod;
  t.same(merged.spec.containers, [{ name: 'only' }], 'merge patch replaces lists');
  t.same(merged.metadata, { ownerReferences: [{ uid: '1', name: 'x' }] }, 'null deletes');
});

t.test('RBAC: rules, subresources, resourceNames, namespaces and non-resource URLs', async (t) => {
  const objects = {
    roles: [
      {
        metadata: { name: 'pods', namespace: 'team' },
        rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] }],
      },
    ],
    clusterRoles: [
      {
        metadata: { name: 'leases' },
        rules: [
          {
            apiGroups: ['coordination.k8s.io'],
            resources: ['leases'],
            resourceNames: ['operator'],
            verbs: ['*'],
          },
        ],
      },
      { metadata: { name: 'discovery' }, rules: [{ nonResourceURLs: ['/apis/*'], verbs: ['get'] }] },
    ],
    roleBindings: [
      {
        metadata: { name: 'b', namespace: 'team' },
        roleRef: { kind: 'Role', name: 'pods' },
        subjects: [{ kind: 'Group', name: 'devs' }],
      },
    ],
    clusterRoleBindings: [
      {
        metadata: { name: 'c' },
        roleRef: { kind: 'ClusterRole', name: 'leases' },
        subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: 'sys' }],
      },
      {
        metadata: { name: 'd' },
        roleRef: { kind: 'ClusterRole', name: 'discovery' },
        subjects: [{ kind: 'User', name: 'bob' }],
      },
    ],
  };
  const rbac: RbacSource = {
    role: (ns, name) => objects.roles.find((r) => r.metadata.namespace === ns && r.metadata.name === name),
    clusterRole: (name) => objects.clusterRoles.find((r) => r.metadata.name === name),
    roleBindings: (ns) => objects.roleBindings.filter((b) => b.metadata.namespace === ns),
    clusterRoleBindings: () => objects.clusterRoleBindings,
  };
  const dev = { name: 'alice', groups: ['devs'] };
  const op = { name: 'system:serviceaccount:sys:op', groups: [] };
  const res = (resource: string, extra: object = {}) => ({
    group: '',
    resource,
    namespace: 'team',
    ...extra,
  });
  const cases: [string, Parameters<typeof isAllowed>[0], boolean][] = [
    [
      'group member lists pods in the namespace',
      { user: dev, verb: 'list', path: '', resource: res('pods') },
      true,
    ],
    [
      '… and reads logs',
      { user: dev, verb: 'get', path: '', resource: res('pods', { subresource: 'log', name: 'p' }) },
      true,
    ],
    [
      '… but not exec',
      { user: dev, verb: 'create', path: '', resource: res('pods', { subresource: 'exec', name: 'p' }) },
      false,
    ],
    [
      '… nor elsewhere',
      { user: dev, verb: 'list', path: '', resource: res('pods', { namespace: 'other' }) },
      false,
    ],
    [
      'a service account updates its named lease',
      {
        user: op,
        verb: 'update',
        path: '',
        resource: { group: 'coordination.k8s.io', resource: 'leases', namespace: 'sys', name: 'operator' },
      },
      true,
    ],
    [
      '… not another lease',
      {
        user: op,
        verb: 'update',
        path: '',
        resource: { group: 'coordination.k8s.io', resource: 'leases', namespace: 'sys', name: 'other' },
      },
      false,
    ],
    [
      'a user gets a non-resource URL by prefix',
      { user: { name: 'bob', groups: [] }, verb: 'get', path: '/apis/etcd.io' },
      true,
    ],
    [
      'masters may do anything',
      {
        user: { name: 'root', groups: ['system:masters'] },
        verb: 'delete',
        path: '',
        resource: res('secrets'),
      },
      true,
    ],
  ];
  for (const [name, attributes, want] of cases) t.equal(isAllowed(attributes, rbac), want, name);
  t.equal(
    forbidden({
      user: dev,
      verb: 'create',
      path: '',
      resource: res('pods', { subresource: 'portforward', name: 'p', namespace: 'default' }),
    }).message,
    'pods "p" is forbidden: User "alice" cannot create resource "pods/portforward" in API group "" in the namespace "default"',
  );
  t.equal(
    forbidden({ user: dev, verb: 'get', path: '/metrics' }).message,
    'forbidden: User "alice" cannot get path "/metrics"',
  );
});

t.test('apply conflicts are worded as the real server words them', async (t) => {
  const base = { apiVersion: 'v1', time: '2026-01-01T00:00:00Z' };
  t.equal(
    conflictMessage([{ ...base, manager: 'kubectl', operation: 'Apply', field: '.spec.size' }]),
    'Apply failed with 1 conflict: conflict with "kubectl": .spec.size',
  );
  t.equal(
    conflictMessage([
      { ...base, manager: 'op', operation: 'Update', field: '.a' },
      { ...base, manager: 'op', operation: 'Update', field: '.b' },
      { ...base, manager: 'kubectl', operation: 'Apply', subresource: 'status', field: '.status.x' },
    ]),
    'Apply failed with 3 conflicts: conflicts with "kubectl" with subresource "status":\n- .status.x\nconflicts with "op" using v1:\n- .a\n- .b',
  );
});
