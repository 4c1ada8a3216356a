import t from 'tap';
import {
  backoffDelay,
  formatKey,
  formatLabelSelector,
  matchesLabelSelector,
  parseKey,
  resourcePath,
  ConfigMaps,
  EtcdClusters,
  Namespaces,
  type KubeObject,
  type LabelSelector,
} from '../../lib/kube/index.js';
import { Store } from '../../lib/kube/store.js';

t.test('label selectors render in the API server syntax and match like it', async (t) => {
  const selector: LabelSelector = {
    matchLabels: { app: 'etcd' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['b', 'a'] },
      { key: 'legacy', operator: 'DoesNotExist' },
      { key: 'zone', operator: 'NotIn', values: ['z1'] },
      { key: 'owner', operator: 'Exists' },
    ],
  };
  t.equal(formatLabelSelector(selector), '!legacy,app=etcd,owner,tier in (a,b),zone notin (z1)');
  t.equal(formatLabelSelector({}), '');
  const cases: [Record<string, string> | undefined, boolean][] = [
    [{ app: 'etcd', tier: 'a', owner: 'x' }, true],
    [{ app: 'etcd', tier: 'b', owner: 'x', zone: 'z2' }, true],
    [{ app: 'etcd', tier: 'a', owner: 'x', zone: 'z1' }, false],
    [{ app: 'etcd', tier: 'a', owner: 'x', legacy: '' }, false],
    [{ app: 'etcd', tier: 'c', owner: 'x' }, false],
    [{ app: 'etcd', tier: 'a' }, false],
    [undefined, false],
  ];
  for (const [labels, matches] of cases)
    t.equal(matchesLabelSelector(labels, selector), matches, JSON.stringify(labels));
  t.ok(matchesLabelSelector(undefined, {}), 'an empty selector matches everything');
});

t.test('keys are namespace/name, or name when cluster-scoped', async (t) => {
  t.equal(formatKey({ namespace: 'x', name: 'a' }), 'x/a');
  t.equal(formatKey({ namespace: '', name: 'a' }), 'a');
  t.same(parseKey('x/a'), { namespace: 'x', name: 'a' });
  t.same(parseKey('a'), { namespace: '', name: 'a' });
});

t.test('resource paths for core, grouped and cluster-scoped kinds and subresources', async (t) => {
  t.equal(resourcePath(ConfigMaps), '/api/v1/configmaps');
  t.equal(resourcePath(ConfigMaps, { namespace: 'x', name: 'a' }), '/api/v1/namespaces/x/configmaps/a');
  t.equal(
    resourcePath(EtcdClusters, { namespace: 'x', name: 'a', subresource: 'scale' }),
    '/apis/etcd.io/v1alpha1/namespaces/x/etcdclusters/a/scale',
  );
  t.equal(resourcePath(Namespaces, { namespace: 'ignored', name: 'x' }), '/api/v1/namespaces/x');
});

t.test('backoffDelay doubles from the initial delay up to the maximum, plus jitter', async (t) => {
  const policy = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
  t.same(
    [1, 2, 3, 4, 5, 6, 10_000].map((n) => backoffDelay(policy, n, () => 0)),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
  t.equal(
    backoffDelay(policy, 2, () => 0.5),
    250,
    'jitter adds up to 50 % here',
  );
});

function obj(
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
  owners: string[] = [],
): KubeObject {
  return {
    metadata: {
      namespace,
      name,
      labels,
      ownerReferences: owners.map((uid) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: uid, uid })),
    },
  };
}

t.test('the store answers by namespace, owner UID and labels, and keeps its indexes current', async (t) => {
  const store = new Store<KubeObject>();
  store.set('a/one', obj('a', 'one', { app: 'etcd', tier: 'x' }, ['u1']));
  store.set('a/two', obj('a', 'two', { app: 'etcd' }, ['u2']));
  store.set('b/three', obj('b', 'three', { app: 'other' }, ['u1']));
  const names = (list: KubeObject[]) => list.map((o) => o.metadata?.name).sort();
  t.same(names(store.list({ namespace: 'a' })), ['one', 'two']);
  t.same(names(store.list({ ownerUid: 'u1' })), ['one', 'three']);
  t.same(names(store.list({ labelSelector: { matchLabels: { app: 'etcd' } } })), ['one', 'two']);
  t.same(names(store.list({ namespace: 'b', ownerUid: 'u1' })), ['three']);
  t.same(
    names(
      store.list({
        labelSelector: {
          matchLabels: { app: 'etcd' },
          matchExpressions: [{ key: 'tier', operator: 'Exists' }],
        },
      }),
    ),
    ['one'],
  );
  store.set('a/one', obj('a', 'one', { app: 'changed' }, ['u3']));
  t.same(names(store.list({ ownerUid: 'u1' })), ['three'], 'an update re-indexes');
  t.same(names(store.list({ labelSelector: { matchLabels: { app: 'etcd' } } })), ['two']);
  t.same(names(store.list({ ownerUid: 'u3' })), ['one']);
  store.delete('a/two');
  t.same(names(store.list({ namespace: 'a' })), ['one'], 'a delete un-indexes');
  t.equal(store.size, 2);
  t.equal(store.get({ namespace: 'b', name: 'three' })?.metadata?.name, 'three');
  t.same(store.keys().sort(), ['a/one', 'b/three']);
});
