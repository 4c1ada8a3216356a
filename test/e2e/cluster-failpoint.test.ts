import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { EtcdClusters, KubeClient, Pods } from '../../lib/kube/index.js';
import { converged, createCluster } from '../helpers/cluster.js';
import { etcdClient } from '../helpers/etcd-client.js';
import { startOperator } from '../helpers/operator.js';
import { startTargetSandbox } from '../helpers/apiserver-target.js';
import { eventually, expectNothingLeft } from '../helpers/sandbox.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** bin/etcd-operator's code as its own process, crashing at `failpoint`; resolves with how it ended. */
function runOperatorProcess(kubeconfig: string, failpoint: string): Promise<NodeJS.Signals | number | null> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'operator/main.ts'),
      `--kubeconfig=${kubeconfig}`,
      '--health-addr=0',
      '--metrics-addr=0',
      `--failpoint=${failpoint}`,
    ],
    { cwd: root, stdio: 'ignore' },
  );
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

t.test(
  'the operator killed between adding a learner and starting its pod converges after a restart',
  async (t) => {
    const dir = t.testdir();
    const kubeconfig = join(dir, 'kubeconfig');
    const sandbox = await startTargetSandbox(t, {
      kubeconfigPath: kubeconfig,
      runtime: { backoff: { baseMs: 1000, maxMs: 4000 } },
    });
    const client = new KubeClient(sandbox.kubeConfig);
    t.teardown(() => client.close());

    await createCluster(client, 'fp', 'demo', { size: 3 });
    const first = await startOperator(t, sandbox.kubeConfig);
    await converged(client, 'fp', 'demo', 3);
    // Only the crashing process may act next.
    await first.stop();

    await client.patch(
      EtcdClusters,
      { namespace: 'fp', name: 'demo' },
      { type: 'merge', body: { spec: { size: 4 } } },
    );
    t.equal(
      await runOperatorProcess(kubeconfig, 'after-member-add'),
      'SIGKILL',
      'the operator crashed at the failpoint',
    );

    const etcd = await etcdClient(sandbox.kubeConfig, 'fp', 'demo');
    t.teardown(() => etcd.close());
    const crashed = await etcd.cluster.memberList({ linearizable: true });
    t.equal(crashed.members.length, 4, 'etcd has the new learner');
    t.ok(
      crashed.members.some((m) => m.isLearner && m.name === ''),
      'a learner that never started',
    );
    await t.rejects(client.get(Pods, { namespace: 'fp', name: 'demo-3' }), 'and no pod for it');

    await startOperator(t, sandbox.kubeConfig);
    const cluster = await converged(client, 'fp', 'demo', 4);
    const after = await etcd.cluster.memberList({ linearizable: true });
    t.equal(after.members.length, 4, 'no duplicate member');
    t.ok(
      after.members.every((m) => !m.isLearner && m.name !== ''),
      'no orphan learner: all four vote',
    );
    t.same(
      cluster.status?.members?.map((m) => m.name).sort(),
      ['demo-0', 'demo-1', 'demo-2', 'demo-3'],
      'the learner added before the crash became demo-3',
    );
    await eventually('pods', async () =>
      (await client.list(Pods, { namespace: 'fp' })).items.length === 4 ? true : undefined,
    );
    etcd.close();
    await expectNothingLeft(t, sandbox);
  },
);
