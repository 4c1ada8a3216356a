/**
 * lib/access's etcdctl admin (the exec transport's EtcdAdmin) against a real 3-member etcd: it runs
 * the real etcdctl (here on the machine instead of in a pod) and must agree with the etcd3-based
 * admin on every answer, uint64 member IDs included, and type etcdctl's failures.
 */
import { execFile } from 'node:child_process';
import t from 'tap';
import { createEtcdctlAdmin } from '../../lib/access/index.js';
import { isMemberId } from '../../lib/etcd/index.js';
import { LearnerNotInSyncError, NotFoundError, UnavailableError, UsageError } from '../../lib/errors.js';
import { startEtcdCluster } from '../helpers/etcd-cluster.js';
import { eventually } from '../helpers/sandbox.js';

const cluster = await startEtcdCluster(t, { version: '3.5', size: 3 });
const names = ['m0', 'm1', 'm2'];
const url = (name: string) => cluster.members.get(name)!.clientURL;
const ran: { pod: string; argv: string[] }[] = [];
const admin = createEtcdctlAdmin({
  endpoints: names.map((name) => ({ url: url(name), pod: `pod-${name}`, tlsArgs: [] })),
  timeoutMs: 3000,
  run: (pod, argv) => {
    ran.push({ pod, argv });
    return new Promise((resolve) => {
      execFile(cluster.binaries.etcdctl, argv.slice(1), { encoding: 'buffer' }, (err, stdout, stderr) =>
        resolve({ stdout, stderr: stderr.toString(), exitCode: err ? Number(err.code ?? 1) : 0 }),
      );
    });
  },
});
const reference = cluster.admin();

t.test('member list, status and hashes agree with the etcd3 admin', async (t) => {
  const [ours, theirs] = [await admin.memberList(), await reference.memberList()];
  t.same(ours, theirs, 'the same members, IDs exact to the last bit');
  t.ok(ours.members.every((m) => isMemberId(m.id) && m.id.length === 16));
  for (const name of names) {
    const [s, r] = [await admin.status(url(name)), await reference.status(url(name))];
    t.same(
      { ...s, raftIndex: 0, raftAppliedIndex: 0 },
      { ...r, raftIndex: 0, raftAppliedIndex: 0 },
      `status of ${name}`,
    );
    t.equal((await admin.hashKV(url(name))).hash, (await reference.hashKV(url(name))).hash);
  }
  t.equal(ran.find((r) => r.argv.includes('status'))?.pod, 'pod-m0', "a member's status runs in its own pod");
  t.same((await admin.health(url('m1'))).healthy, true);
  t.same(await admin.alarmList(), []);
  t.same(await admin.alarmDisarm(), []);
  await t.rejects(admin.alarmDisarm('0000000000000001'), UsageError);
});

t.test('membership changes, and etcd refusals as typed errors', async (t) => {
  // etcd refuses membership changes ("unhealthy cluster") until every peer has been connected 5 s.
  const added = await eventually('etcd to accept a member', () =>
    admin.memberAdd(['http://127.0.0.1:1'], { learner: true }),
  );
  t.equal(added.member.isLearner, true);
  t.ok(added.members.some((m) => m.id === added.member.id));
  await t.rejects(admin.memberPromote(added.member.id), LearnerNotInSyncError);
  const after = await admin.memberRemove(added.member.id);
  t.notOk(after.members.some((m) => m.id === added.member.id));
  await t.rejects(admin.memberRemove(added.member.id), {
    constructor: NotFoundError,
    message: /member not found/,
  });
});

t.test('move-leader and defragment', async (t) => {
  const statuses = await Promise.all(names.map((n) => admin.status(url(n))));
  const follower = statuses.find((s) => !s.isLeader)!;
  await admin.moveLeader(follower.memberId);
  t.equal((await admin.status(follower.endpoint)).isLeader, true);
  await admin.defragment(url('m2'));
  t.pass('defragmented');
});

t.test('a member that is down, and what exec cannot do', async (t) => {
  await cluster.stopMember('m2');
  const all = await admin.statusAll();
  t.same(
    all.map((s) => 'error' in s),
    [false, false, true],
  );
  const down = all[2];
  t.type(down && 'error' in down ? down.error : undefined, UnavailableError);
  t.equal((await admin.health(url('m2'))).healthy, false);
  const chunks = admin.snapshot(url('m0'))[Symbol.asyncIterator]();
  await t.rejects(chunks.next(), {
    constructor: UsageError,
    message: /cannot be carried out of its pod by exec/,
  });
});
