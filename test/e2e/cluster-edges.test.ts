import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { EtcdClusters, Events, KubeClient, PersistentVolumeClaims, Pods } from '../../lib/kube/index.js';
import { converged, createCluster } from '../helpers/cluster.js';
import { etcdClient } from '../helpers/etcd-client.js';
import { startOperator } from '../helpers/operator.js';
import { startTargetSandbox } from '../helpers/apiserver-target.js';
import { eventually, expectNothingLeft } from '../helpers/sandbox.js';

t.test('edges of the lifecycle', async (t) => {
  const sandbox = await startTargetSandbox(t, { runtime: { backoff: { baseMs: 1000, maxMs: 4000 } } });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  await startOperator(
    t,
    sandbox.kubeConfig,
    ['--replace-unhealthy-after=5s'],
    pino({ level: 'debug' }, sink),
  );
  const client = new KubeClient(sandbox.kubeConfig);
  t.teardown(() => client.close());
  const phase = async (ns: string, name: string) =>
    (await client.get(EtcdClusters, { namespace: ns, name })).status;

  await t.test('security.tls.enabled: false serves plain HTTP', async (t) => {
    await createCluster(client, 'plain', 'p', { size: 1, security: { tls: { enabled: false } } });
    const cluster = await converged(client, 'plain', 'p', 1);
    t.match(cluster.status?.members?.[0]?.clientURL, /^http:\/\//);
    const etcd = await etcdClient(sandbox.kubeConfig, 'plain', 'p', { plain: true });
    t.teardown(() => etcd.close());
    await etcd.put('k').value('v');
    t.equal(await etcd.get('k').string(), 'v');
  });

  await t.test(
    'a member cut off from its peers past the delay is replaced, while quorum holds',
    async (t) => {
      await createCluster(client, 'cut', 'c', { size: 3 });
      const cluster = await converged(client, 'cut', 'c', 3);
      const victim = cluster.status?.members?.find((m) => !m.isLeader)?.name ?? '';
      await sandbox.runtime.faults.partitionPod('cut', victim);
      const unhealthy = await eventually(`${victim} to be seen unhealthy`, async () => {
        const member = (await phase('cut', 'c'))?.members?.find((m) => m.name === victim);
        return member?.unhealthySince;
      });
      await eventually(`${victim} to be removed`, async () =>
        (await phase('cut', 'c'))?.members?.some((m) => m.name === victim) ? undefined : true,
      );
      const after = await converged(client, 'cut', 'c', 3);
      t.equal(after.status?.members?.length, 3);
      t.ok(unhealthy, `${victim} was unhealthy since ${unhealthy}, then replaced`);
      const events = await client.list(Events, { namespace: 'cut' });
      t.ok(
        events.items.some(
          (e) => e.reason === 'MemberRemoved' && e.message?.includes(victim) && e.type === 'Warning',
        ),
        'a Warning Event says why',
      );
    },
  );

  await t.test('with two of three members cut off, nothing is removed', async (t) => {
    await createCluster(client, 'cut2', 'c', { size: 3 });
    const cluster = await converged(client, 'cut2', 'c', 3);
    const followers = (cluster.status?.members ?? []).filter((m) => !m.isLeader).map((m) => m.name);
    for (const f of followers) await sandbox.runtime.faults.partitionPod('cut2', f);
    const recovering = await eventually('Recovering', async () => {
      const s = await phase('cut2', 'c');
      return s?.phase === 'Recovering' && s.readyReplicas === 0 ? s : undefined;
    });
    t.match(recovering.conditions, [{ type: 'Available', status: 'False', reason: 'QuorumLost' }]);
    // Well past the replacement delay: still the same three members.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    t.same(
      (await phase('cut2', 'c'))?.members?.map((m) => m.name),
      cluster.status?.members?.map((m) => m.name),
      'no member removed without quorum',
    );
    for (const f of followers) await sandbox.runtime.faults.healPod('cut2', f);
    await converged(client, 'cut2', 'c', 3);
  });

  await t.test('losing quorum for good yields Failed, saying what was lost', async (t) => {
    await createCluster(client, 'lost', 'l', { size: 3, storage: { type: 'EmptyDir' } });
    await converged(client, 'lost', 'l', 3);
    await Promise.all([
      client.delete(Pods, { namespace: 'lost', name: 'l-1' }),
      client.delete(Pods, { namespace: 'lost', name: 'l-2' }),
    ]);
    const failed = await eventually('Failed', async () => {
      const s = await phase('lost', 'l');
      return s?.phase === 'Failed' ? s : undefined;
    });
    t.match(
      failed.conditions?.find((c) => c.type === 'Degraded'),
      {
        status: 'True',
        reason: 'QuorumLostPermanently',
        message: /lost their data .*restore from a backup/,
      },
    );
  });

  await t.test('deleting a cluster removes what it owns; claims follow the reclaim policy', async (t) => {
    await createCluster(client, 'gone', 'keep', { size: 1, storage: { reclaimPolicy: 'Retain' } });
    await createCluster(client, 'gone', 'drop', { size: 1 });
    await converged(client, 'gone', 'keep', 1);
    await converged(client, 'gone', 'drop', 1);
    await client.delete(EtcdClusters, { namespace: 'gone', name: 'keep' });
    await client.delete(EtcdClusters, { namespace: 'gone', name: 'drop' });
    await eventually('both clusters and their pods to go', async () => {
      const clusters = await client.list(EtcdClusters, { namespace: 'gone' });
      const pods = await client.list(Pods, { namespace: 'gone' });
      return clusters.items.length + pods.items.length === 0 ? true : undefined;
    });
    const claims = await eventually('the claims to settle', async () => {
      const list = await client.list(PersistentVolumeClaims, { namespace: 'gone' });
      return list.items.length === 1 ? list.items : undefined;
    });
    t.equal(claims[0]?.metadata?.name, 'data-keep-0', 'Retain kept its claim');
    t.same(
      claims[0]?.metadata?.ownerReferences ?? [],
      [],
      'no longer owned, so garbage collection leaves it',
    );
  });

  await t.test('no key material in logs or Events', async (t) => {
    const events = await client.list(Events, {});
    const text = [...logLines, ...events.items.map((e) => e.message ?? '')].join('\n');
    t.ok(logLines.length > 50, `${logLines.length} log lines read`);
    t.notMatch(text, /PRIVATE KEY|BEGIN CERTIFICATE|MII[A-Za-z0-9+/]{20}/);
  });

  await expectNothingLeft(t, sandbox);
});
