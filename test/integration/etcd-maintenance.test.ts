/** Defragmentation and alarms through EtcdAdmin, on real 3-member clusters of etcd 3.5 and 3.6. */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startEtcdCluster } from '../helpers/etcd-cluster.js';

const QUOTA = 2 * 1024 * 1024;

for (const version of ['3.5', '3.6']) {
  t.test(`etcd ${version}`, async (t) => {
    const cluster = await startEtcdCluster(t, { version, size: 3, quotaBackendBytes: QUOTA });
    const admin = cluster.admin();
    const kv = cluster.kv();

    /** Compacts all history, so that defragmentation can give the space back. */
    const compactAll = async () => {
      const { revision } = await admin.status(admin.endpoints[0]!);
      await kv.kv.compact({ revision, physical: true });
    };

    t.test('defragment shrinks dbSize after deletes', async (t) => {
      const value = 'x'.repeat(20 * 1024);
      for (let i = 0; i < 40; i++) await kv.put(`/frag/${i}`).value(value);
      await kv.delete().prefix('/frag/');
      await compactAll();
      for (const endpoint of admin.endpoints) {
        const before = await admin.status(endpoint);
        await admin.defragment(endpoint);
        const after = await admin.status(endpoint);
        t.ok(after.dbSize < before.dbSize, `${endpoint}: dbSize ${before.dbSize} → ${after.dbSize}`);
      }
    });

    t.test('NOSPACE is listed, makes members unhealthy, and is disarmed', async (t) => {
      t.same(await admin.alarmList(), []);
      const value = 'y'.repeat(100 * 1024);
      let refused: Error | undefined;
      for (let i = 0; i < 100 && !refused; i++) {
        await kv
          .put(`/fill/${i}`)
          .value(value)
          .catch((err: Error) => (refused = err));
      }
      t.match(refused?.message, /database space exceeded/);

      const { members } = await admin.memberList();
      const alarms = await waitForAlarms(admin);
      t.ok(alarms.length >= 1);
      for (const a of alarms) {
        t.equal(a.alarm, 'NOSPACE');
        t.ok(
          members.some((m) => m.id === a.memberId),
          `alarm of member ${a.memberId}`,
        );
      }
      const health = await admin.health(admin.endpoints[0]!);
      t.equal(health.healthy, false);
      t.match(health.error, /NOSPACE/);

      // etcd's recovery: free the space, then disarm; disarming first would re-raise at the next write.
      await kv.delete().prefix('/fill/');
      await compactAll();
      for (const endpoint of admin.endpoints) await admin.defragment(endpoint);
      const disarmed = await admin.alarmDisarm();
      // Members raise their alarms one by one through Raft: more may have joined since the list.
      for (const a of alarms)
        t.ok(
          disarmed.some((d) => d.memberId === a.memberId),
          `disarmed ${a.memberId}`,
        );
      t.same(await admin.alarmList(), []);
      t.equal((await admin.health(admin.endpoints[0]!)).healthy, true);
      await kv.put('/after').value('ok');
      t.equal(await kv.get('/after').string(), 'ok');
    });
  });
}

/** The alarm is raised through Raft: poll until it shows. */
async function waitForAlarms(admin: { alarmList(): Promise<{ memberId: string; alarm: string }[]> }) {
  for (;;) {
    const alarms = await admin.alarmList();
    if (alarms.length > 0) return alarms;
    await sleep(100);
  }
}
