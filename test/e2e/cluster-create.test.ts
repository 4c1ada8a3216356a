import t from 'tap';
import { EtcdClusters, KubeClient, Namespaces } from '../../lib/kube/index.js';
import type { EtcdCluster } from '../../lib/api/index.js';
import { etcdClient } from '../helpers/etcd-client.js';
import { startOperator } from '../helpers/operator.js';
import { startTargetSandbox } from '../helpers/apiserver-target.js';
import { eventually, expectNothingLeft } from '../helpers/sandbox.js';

t.test('a 3-member TLS cluster reaches Running, and only clients with its certificate get in', async (t) => {
  const sandbox = await startTargetSandbox(t, { runtime: { backoff: { baseMs: 1000, maxMs: 4000 } } });
  await startOperator(t, sandbox.kubeConfig);
  const client = new KubeClient(sandbox.kubeConfig);
  t.teardown(() => client.close());
  await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'e2e' } });
  await client.create(EtcdClusters, {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'demo', namespace: 'e2e' },
    spec: { size: 3 },
  } as EtcdCluster);

  const running = await eventually(
    'the cluster to be Running',
    async () => {
      const c = await client.get(EtcdClusters, { namespace: 'e2e', name: 'demo' });
      return c.status?.phase === 'Running' ? c : undefined;
    },
    120_000,
  );
  t.equal(running.status?.readyReplicas, 3);
  t.equal(running.status?.members?.length, 3);
  t.ok(
    running.status?.members?.every((m) => m.healthy && !m.isLearner),
    'three healthy voting members',
  );
  t.match(running.status?.clusterID, /^[0-9a-f]{16}$/);
  t.equal(running.status?.members?.filter((m) => m.isLeader).length, 1, 'one leader');
  t.match(
    running.status?.members?.[0]?.peerURL,
    /^https:\/\/demo-\d\.demo\.e2e\.svc:2380$/,
    'peers over TLS',
  );
  t.match(running.status?.conditions, [{ type: 'Available', status: 'True' }]);

  const etcd = await etcdClient(sandbox.kubeConfig, 'e2e', 'demo');
  t.teardown(() => etcd.close());
  await etcd.put('greeting').value('hello');
  t.equal(await etcd.get('greeting').string(), 'hello', 'a client with the certificate reads and writes');

  const stranger = await etcdClient(sandbox.kubeConfig, 'e2e', 'demo', { withClientCertificate: false });
  t.teardown(() => stranger.close());
  await t.rejects(stranger.get('greeting').string(), 'a client without the certificate is refused');

  await expectNothingLeft(t, sandbox);
});
