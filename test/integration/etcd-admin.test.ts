/** EtcdAdmin against real 3-member TLS clusters of etcd 3.5 and 3.6. */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { ConflictError, LearnerNotInSyncError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import { createEtcdAdmin, formatMemberId, resolveMember } from '../../lib/etcd/index.js';
import { initialClusterFor, startEtcdCluster } from '../helpers/etcd-cluster.js';
import { freePort } from '../helpers/etcd.js';

for (const version of ['3.5', '3.6']) {
  t.test(`etcd ${version}`, async (t) => {
    const cluster = await startEtcdCluster(t, { version, size: 3, tls: true });
    const admin = cluster.admin();

    t.test('member list gives the hex IDs etcdctl knows', async (t) => {
      const { members, clusterId } = await admin.memberList();
      const json = await cluster.etcdctl(['member', 'list', '-w', 'json']);
      // etcdctl prints uint64 IDs as bare JSON numbers: read them as text, never as numbers.
      const expected = [...json.matchAll(/"ID":(\d+)/g)].map((m) => formatMemberId(m[1]!)).sort();
      t.equal(expected.length, 3);
      t.same(members.map((m) => m.id).sort(), expected);
      t.equal(clusterId, formatMemberId(/"cluster_id":(\d+)/.exec(json)![1]!));
      t.same(members.map((m) => m.name).sort(), ['m0', 'm1', 'm2']);
      for (const m of members) {
        t.match(m.id, /^[0-9a-f]{16}$/);
        t.equal(m.isLearner, false);
        t.same(m.peerURLs, [cluster.members.get(m.name)!.peerURL]);
      }
    });

    t.test('status per endpoint: one leader, every member answering for itself', async (t) => {
      const { members } = await admin.memberList();
      const statuses = await Promise.all(admin.endpoints.map((e) => admin.status(e)));
      t.same(new Set(statuses.map((s) => s.memberId)), new Set(members.map((m) => m.id)));
      t.equal(statuses.filter((s) => s.isLeader).length, 1);
      t.equal(new Set(statuses.map((s) => s.leaderId)).size, 1, 'all agree on the leader');
      for (const s of statuses) {
        const name = members.find((m) => m.id === s.memberId)!.name;
        t.equal(s.endpoint, cluster.members.get(name)!.clientURL, 'each endpoint is its own member');
        t.equal(s.version, cluster.binaries.version);
        t.ok(s.dbSize > 0 && s.dbSizeInUse > 0 && s.dbSizeInUse <= s.dbSize);
        t.ok(s.raftTerm >= 1 && s.raftAppliedIndex >= 1);
        t.same(s.errors, []);
      }
    });

    t.test('health of every endpoint', async (t) => {
      const health = await Promise.all(admin.endpoints.map((e) => admin.health(e)));
      t.same(
        health.map((h) => h.healthy),
        [true, true, true],
      );
    });

    t.test('hashKV agrees across members at one revision', async (t) => {
      const kv = cluster.kv();
      for (let i = 0; i < 20; i++) await kv.put(`/hash/${i}`).value(`v${i}`);
      const revision = (await admin.status(admin.endpoints[0]!)).revision;
      // Followers apply asynchronously: wait until each has applied what the leader committed.
      await waitFor(async () => {
        const statuses = await Promise.all(admin.endpoints.map((e) => admin.status(e)));
        return statuses.every((s) => s.revision >= revision);
      });
      const hashes = await Promise.all(admin.endpoints.map((e) => admin.hashKV(e, revision)));
      t.equal(new Set(hashes.map((h) => h.hash)).size, 1, `hashes: ${hashes.map((h) => h.hash).join(', ')}`);
      t.ok(hashes.every((h) => h.revision >= revision));
    });

    t.test('a learner joins, is refused promotion until in sync, then votes', async (t) => {
      const spec = await cluster.allocateMember();
      const added = await addWhenConnected(() => admin.memberAdd([spec.peerURL], { learner: true }));
      t.equal(added.member.isLearner, true);
      t.equal(added.member.name, '', 'not started yet');
      t.match(added.member.id, /^[0-9a-f]{16}$/);
      t.equal(added.members.length, 4);

      // Its process is not running: it cannot have caught up.
      await t.rejects(admin.memberPromote(added.member.id), LearnerNotInSyncError);
      await t.rejects(admin.memberAdd([spec.peerURL], { learner: true }), ConflictError, 'peer URL taken');

      cluster.startMember(spec, initialClusterFor(spec, added.members), 'existing');
      await waitFor(async () => {
        try {
          await admin.memberPromote(added.member.id);
          return true;
        } catch (err) {
          if (err instanceof LearnerNotInSyncError) return false;
          throw err;
        }
      });
      const { members } = await admin.memberList();
      t.equal(members.filter((m) => !m.isLearner).length, 4, '4 voters');
      t.equal(resolveMember(members, 'm3').id, added.member.id, 'the learner published its name');
      await cluster.waitHealthy('m3');
    });

    t.test('move-leader hands leadership to the member named', async (t) => {
      const before = await Promise.all(admin.endpoints.map((e) => admin.status(e)));
      const target = before.find((s) => !s.isLeader && !s.isLearner)!;
      await admin.moveLeader(target.memberId);
      const after = await admin.status(target.endpoint);
      t.equal(after.isLeader, true, `leader is now ${target.memberId}`);
      t.not(after.leaderId, before.find((s) => s.isLeader)!.memberId);
    });

    t.test('remove a member', async (t) => {
      const { members } = await admin.memberList();
      const m3 = resolveMember(members, 'm3');
      const after = await admin.memberRemove(m3.id);
      t.notOk(after.members.some((m) => m.id === m3.id));
      t.equal((await admin.memberList()).members.length, 3);
      await cluster.stopMember('m3');
      await t.rejects(admin.memberRemove(m3.id), NotFoundError, 'removing twice says not found');
    });

    t.test('an unreachable endpoint is an UnavailableError; reads fail over', async (t) => {
      const dead = `https://127.0.0.1:${await freePort()}`;
      const m0 = cluster.members.get('m0')!;
      const tls = {
        caCert: cluster.tls!.ca.cert,
        cert: cluster.tls!.client.cert,
        key: cluster.tls!.client.key,
      };
      const mixed = createEtcdAdmin({
        endpoints: [dead, { url: m0.clientURL, serverName: m0.dnsName }],
        tls,
        timeoutMs: 2000,
      });
      t.teardown(() => mixed.close());
      await t.rejects(mixed.status(dead), UnavailableError);
      t.equal((await mixed.memberList()).members.length, 3, 'member list fails over to a live endpoint');
    });
  });
}

/**
 * etcd refuses membership changes with "unhealthy cluster" until every voter has been connected
 * for 5 s (HealthInterval, --strict-reconfig-check): a fresh cluster must wait. That refusal comes
 * before anything is proposed, so trying again is safe — unlike a timeout, whose outcome is unknown.
 */
async function addWhenConnected<T>(add: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await add();
    } catch (err) {
      if (!(err instanceof UnavailableError && err.message.includes('unhealthy cluster'))) throw err;
      await sleep(200);
    }
  }
}

/** Polls `check` every 200 ms until it is true (the tap timeout bounds the wait). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(200);
}
