/**
 * The lifecycle scenario of issue 6, run per etcd version by cluster-lifecycle-*.test.ts: while a
 * writer writes a key every 10 ms, scale 3→5→3, delete a follower's pod, delete the leader's pod,
 * crash a member, destroy a member's claim and pod — after each the cluster converges to its spec —
 * and at the end every acknowledged write is still readable.
 */
import type { Test } from 'tap';
import { EtcdClusters, Events, KubeClient, PersistentVolumeClaims, Pods } from '../../lib/kube/index.js';
import { startTargetSandbox } from '../helpers/apiserver-target.js';
import { converged, createCluster, startWriter } from '../helpers/cluster.js';
import { startOperator } from '../helpers/operator.js';
import { eventually, expectNothingLeft } from '../helpers/sandbox.js';

const NS = 'lifecycle';
const NAME = 'lc';

export async function lifecycleScenario(t: Test, version: string): Promise<void> {
  const sandbox = await startTargetSandbox(t, { runtime: { backoff: { baseMs: 1000, maxMs: 4000 } } });
  await startOperator(t, sandbox.kubeConfig, ['--replace-unhealthy-after=30s']);
  const client = new KubeClient(sandbox.kubeConfig);
  t.teardown(() => client.close());
  const key = { namespace: NS, name: NAME };
  await createCluster(client, NS, NAME, { size: 3, version });
  let cluster = await converged(client, NS, NAME, 3);
  t.match(cluster.status?.currentVersion, new RegExp(`^${version.split('.').slice(0, 2).join('\\.')}\\.`));

  const writer = startWriter(t, sandbox.kubeConfig, NS, NAME);
  await eventually('the writer to get going', async () =>
    writer.acknowledged.length > 20 ? true : undefined,
  );
  const names = (n: number) => Array.from({ length: n }, (_, i) => `${NAME}-${i}`);
  /** Container restarts (init containers too) of each of the cluster's pods. */
  const podRestarts = async () => {
    const pods = await client.list(Pods, {
      namespace: NS,
      labelSelector: { matchLabels: { 'etcd.io/cluster': NAME } },
    });
    return Object.fromEntries(
      pods.items
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => [
          p.metadata?.name ?? '',
          [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].reduce(
            (sum, c) => sum + c.restartCount,
            0,
          ),
        ]),
    );
  };
  const ids = (c: typeof cluster) => Object.fromEntries((c.status?.members ?? []).map((m) => [m.name, m.id]));
  const leaderOf = (c: typeof cluster) => c.status?.members?.find((m) => m.isLeader)?.name ?? '';
  const followerOf = (c: typeof cluster) => c.status?.members?.find((m) => !m.isLeader)?.name ?? '';

  await t.test('scale 3 → 5 through the scale subresource', async (t) => {
    await client.patch(
      EtcdClusters,
      key,
      { type: 'merge', body: { spec: { replicas: 5 } } },
      { subresource: 'scale' },
    );
    cluster = await converged(client, NS, NAME, 5);
    const events = await client.list(Events, { namespace: NS });
    const reasons = events.items.map((e) => e.reason);
    t.ok(
      reasons.includes('MemberAdded') && reasons.includes('MemberPromoted'),
      'each member joined as a learner, then was promoted',
    );
    t.same(await podRestarts(), Object.fromEntries(names(5).map((m) => [m, 0])), 'no container restarted');
    t.same(
      events.items.filter((e) => e.reason === 'BackOff').map((e) => e.message),
      [],
      'no back-off: no new member crashed before it joined',
    );
    for (const m of ['lc-3', 'lc-4']) {
      const pod = await client.get(Pods, { namespace: NS, name: m });
      t.match(
        pod.status?.initContainerStatuses,
        [{ name: 'await-peers', state: { terminated: { exitCode: 0 } } }],
        `${m} waited for the members to accept its peer certificate, then its etcd started once`,
      );
    }
  });

  await t.test('scale 5 → 3', async (t) => {
    await client.patch(EtcdClusters, key, { type: 'merge', body: { spec: { size: 3 } } });
    cluster = await converged(client, NS, NAME, 3);
    t.same(
      cluster.status?.members?.map((m) => m.name).sort(),
      ['lc-0', 'lc-1', 'lc-2'],
      'the members added last were removed',
    );
    t.same(await podRestarts(), Object.fromEntries(names(3).map((m) => [m, 0])), 'no container restarted');
  });

  await t.test("a follower's pod deleted comes back with the same identity", async (t) => {
    const before = ids(cluster);
    await client.delete(Pods, { namespace: NS, name: followerOf(cluster) });
    cluster = await converged(client, NS, NAME, 3);
    t.same(ids(cluster), before);
  });

  await t.test("the leader's pod deleted comes back with the same identity", async (t) => {
    const before = ids(cluster);
    const leader = leaderOf(cluster);
    await client.delete(Pods, { namespace: NS, name: leader });
    cluster = await converged(client, NS, NAME, 3);
    t.same(ids(cluster), before);
  });

  await t.test('a crashed member is restarted', async (t) => {
    const victim = followerOf(cluster);
    const restarts = async () =>
      (await client.get(Pods, { namespace: NS, name: victim })).status?.containerStatuses?.[0]
        ?.restartCount ?? 0;
    const before = await restarts();
    sandbox.runtime.faults.crashContainer(NS, victim, 'etcd');
    await eventually('the restart', async () => ((await restarts()) > before ? true : undefined));
    cluster = await converged(client, NS, NAME, 3);
    t.pass(`${victim} restarted and rejoined`);
  });

  await t.test('a member whose claim and pod are destroyed is replaced by a new member', async (t) => {
    const victim = followerOf(cluster);
    await client.delete(PersistentVolumeClaims, { namespace: NS, name: `data-${victim}` });
    await client.delete(Pods, { namespace: NS, name: victim });
    cluster = await converged(client, NS, NAME, 3);
    const names = cluster.status?.members?.map((m) => m.name) ?? [];
    t.notOk(names.includes(victim), `${victim} is gone`);
    t.equal(names.length, 3, 'a new member took its place');
  });

  await writer.stop();
  const issued = (await client.list(Events, { namespace: NS })).items.filter(
    (e) => e.reason === 'CertificateIssued',
  );
  t.equal(issued.length, 3, 'certificates were issued once, at creation');
  t.ok(
    writer.acknowledged.length > 100,
    `${writer.acknowledged.length} writes acknowledged (${writer.failures} failed)`,
  );
  t.same(await writer.missing(), [], 'every acknowledged write is still readable');
  await expectNothingLeft(t, sandbox);
}
