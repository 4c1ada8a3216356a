/**
 * `kubectl etcd scale demo 5 --wait` through the real kubectl, with the operator running: the size
 * changes through the scale subresource and the plugin follows the EtcdCluster's status, printing
 * each step, until the operator reports five healthy voting members.
 */
import t from 'tap';
import { EtcdClusters, KubeClient } from '../../lib/kube/index.js';
import { converged, createCluster } from '../helpers/cluster.js';
import { startOperator } from '../helpers/operator.js';
import { buildPlugin, kubectlEtcd } from '../helpers/plugin.js';
import { expectNothingLeft, startTestSandbox } from '../helpers/sandbox.js';

const sandbox = await startTestSandbox(t);
const bin = await buildPlugin(t);
await startOperator(t, sandbox.kubeConfig);
const client = new KubeClient(sandbox.kubeConfig);
t.teardown(() => client.close());
await createCluster(client, 'default', 'demo', { size: 3 });
await converged(client, 'default', 'demo', 3);
const kubectl = kubectlEtcd(t, sandbox, bin);

await t.test('scale 3 → 5 --wait returns once five members are healthy voters', async (t) => {
  sandbox.api.requests.clear();
  const r = await kubectl.run(['etcd', 'scale', 'demo', '5', '--wait', '--timeout', '5m']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'etcdcluster.etcd.io/demo scaled\netcdcluster.etcd.io/demo has 5 healthy members\n');
  t.match(r.stderr, /^demo: /m, 'progress on stderr');
  t.match(r.stderr, /\(learner\)/, 'the progress shows members joining as learners');
  t.match(r.stderr, /demo: Running, 5 of 5 ready; members: demo-0, demo-1, demo-2, demo-3, demo-4\n$/);
  t.equal(
    sandbox.api.requests.count({ verb: 'patch', resource: 'etcdclusters', subresource: 'scale' }),
    1,
    'one PATCH of the scale subresource',
  );
  const cluster = await client.get(EtcdClusters, { namespace: 'default', name: 'demo' });
  t.equal(cluster.spec.size, 5);
  t.equal(cluster.status?.members?.filter((m) => m.healthy && !m.isLearner).length, 5);

  const status = await kubectl.run(['etcd', 'status', 'demo', '--no-headers']);
  t.equal(status.code, 0, status.stderr);
  t.equal(status.stdout.trimEnd().split('\n').length, 5, 'status shows the five members');
});

await t.test('scale --wait gives up after --timeout with exit 2, saying where it stands', async (t) => {
  const r = await kubectl.run(['etcd', 'scale', 'demo', '3', '--wait', '--timeout', '1ms']);
  t.equal(r.code, 2);
  t.match(r.stderr, /error: demo did not reach 3 healthy members within 0\.001s \((no status|demo: .*)\)\n$/);
  await converged(client, 'default', 'demo', 3);
});

await t.test('the sandbox stops leaving nothing behind', async (t) => {
  await expectNothingLeft(t, sandbox);
});
