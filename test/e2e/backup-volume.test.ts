/**
 * EtcdBackup to a volume, end to end with real etcd: a one-shot backup whose snapshot etcdutl reads
 * back with every key; a schedule driven by a clock that jumps from hour to hour, keeping exactly
 * maxCount snapshots; and a run interrupted by an operator crash, settled by the next operator.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { EtcdBackup } from '../../lib/api/index.js';
import { manifestKey, snapshotKey, type BackupManifest } from '../../lib/backup/index.js';
import { EtcdBackups, Events, KubeClient, type Event } from '../../lib/kube/index.js';
import { findEtcd } from '../../sandbox/binaries.js';
import { converged, createClaim, createCluster } from '../helpers/cluster.js';
import { etcdClient } from '../helpers/etcd-client.js';
import { JumpClock } from '../helpers/jump-clock.js';
import { startOperator } from '../helpers/operator.js';
import { eventually, startTestSandbox } from '../helpers/sandbox.js';

const run = promisify(execFile);
const NS = 'backups';
const HOUR = 3_600_000;

const sandbox = await startTestSandbox(t, { runtime: { backoff: { baseMs: 1000, maxMs: 4000 } } });
const clock = new JumpClock();
const claimDir = (namespace: string, claim: string) => sandbox.runtime.claimDir(namespace, claim);
let operator = await startOperator(t, sandbox.kubeConfig, [], undefined, { clock, claimDir });
const client = new KubeClient(sandbox.kubeConfig);
t.teardown(() => client.close());

await createCluster(client, NS, 'demo', { size: 3, version: '3.5.9' });
await createClaim(client, NS, 'snapshots');
await converged(client, NS, 'demo', 3);
const volume = await eventually('the claim to be bound', async () => claimDir(NS, 'snapshots'));

// Mixed sizes, some keys overwritten, some deleted.
const etcd = await etcdClient(sandbox.kubeConfig, NS, 'demo');
t.teardown(() => etcd.close());
for (let i = 0; i < 2000; i += 50) {
  await Promise.all(
    Array.from({ length: 50 }, (_, j) => etcd.put(`key-${i + j}`).value('v'.repeat(((i + j) % 7) * 300 + 1))),
  );
}
for (let i = 0; i < 200; i++) await etcd.put(`key-${i}`).value(`overwritten-${i}`);
for (let i = 1900; i < 2000; i++) await etcd.delete().key(`key-${i}`);
const liveKeys = 1900;

function backupResource(name: string, spec: Record<string, unknown>): EtcdBackup {
  return {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdBackup',
    metadata: { name, namespace: NS },
    spec: { clusterName: 'demo', storage: { volume: { claimName: 'snapshots' } }, ...spec },
  } as unknown as EtcdBackup;
}

async function eventsOf(name: string): Promise<Event[]> {
  const events = await client.list(Events, { namespace: NS });
  return events.items.filter(
    (e) => e.involvedObject?.kind === 'EtcdBackup' && e.involvedObject.name === name,
  );
}

function manifests(): BackupManifest[] {
  const dir = join(volume, 'demo');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as BackupManifest);
}

await t.test('a one-shot backup stores a snapshot etcdutl restores from, and its manifest', async (t) => {
  await client.create(EtcdBackups, backupResource('now', {}));
  const done = await eventually(
    'the backup to finish',
    async () => {
      const b = await client.get(EtcdBackups, { namespace: NS, name: 'now' });
      return b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed' ? b : undefined;
    },
    60_000,
  );
  t.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status?.conditions));
  const last = done.status!.lastBackup!;
  t.match(last.name, /^demo\/demo-\d{8}T\d{6}\.\d{3}Z\.db$/, 'named after the cluster and the time');
  t.notOk(done.status?.currentRun, 'no run left in progress');
  t.match(done.status?.conditions, [
    { type: 'Running', status: 'False' },
    { type: 'Succeeded', status: 'True', reason: 'SnapshotStored' },
  ]);
  t.equal(last.verified, 'Checksum');
  t.match(last.clusterID, /^[0-9a-f]{16}$/);
  t.match(last.member, /^demo-\d$/);

  const file = join(volume, last.name);
  const bytes = readFileSync(file);
  t.equal(bytes.length, last.size, 'the size recorded is the file');
  t.equal(createHash('sha256').update(bytes).digest('hex'), last.sha256, 'the sha256 recorded is the file');
  const manifest = JSON.parse(readFileSync(join(volume, manifestKey(last.name)), 'utf8')) as BackupManifest;
  t.match(manifest, {
    format: 'etcd.io/backup-manifest/v1',
    snapshot: last.name,
    cluster: 'demo',
    namespace: NS,
    clusterID: last.clusterID,
    revision: last.revision,
    size: last.size,
    sha256: last.sha256,
    member: last.member,
    backup: 'now',
    keys: liveKeys,
  });
  t.match(manifest.etcdVersion, /^3\.5\./);
  t.type(manifest.hashKV, 'number');
  t.notOk(
    readdirSync(join(volume, 'demo')).some((f) => f.endsWith('.partial')),
    'no .partial left',
  );

  const { etcdutl } = findEtcd('3.5');
  const { stdout } = await run(etcdutl!, ['snapshot', 'status', file, '-w', 'json']);
  const status = JSON.parse(stdout) as { revision: number };
  t.ok(status.revision >= last.revision!, `etcdutl reads revision ${status.revision} ≥ ${last.revision}`);

  const events = await eventsOf('now');
  t.same(
    events.map((e) => [e.type, e.reason]),
    [['Normal', 'BackupSucceeded']],
    'exactly one Event: the success',
  );
  t.match(
    events[0]?.message,
    /^stored demo\/demo-\S+\.db \(revision \d+, \d+ bytes\) in volume snapshots:\/$/,
  );

  const metrics = await operator.registry.getSingleMetricAsString('etcd_backup_runs_total');
  t.match(
    metrics,
    /etcd_backup_runs_total\{namespace="backups",backup="now",outcome="succeeded",reason=""\} 1/,
  );
});

await t.test('an hourly schedule with maxCount 3 keeps the 3 newest of 5 runs', async (t) => {
  await client.create(
    EtcdBackups,
    backupResource('hourly', { schedule: '@hourly', retention: { maxCount: 3 } }),
  );
  const waiting = await eventually('the next schedule time', async () => {
    const b = await client.get(EtcdBackups, { namespace: NS, name: 'hourly' });
    return b.status?.nextScheduleTime ? b : undefined;
  });
  t.equal(waiting.status?.phase, 'Pending', 'pending until its first run');
  t.notOk(waiting.status?.lastBackup, 'nothing taken before the schedule says so');

  for (let runs = 1; runs <= 5; runs++) {
    const before = await client.get(EtcdBackups, { namespace: NS, name: 'hourly' });
    const next = Date.parse(before.status!.nextScheduleTime!);
    t.equal(next % HOUR, 0, `run ${runs} is due on the hour`);
    await etcd.put(`run-${runs}`).value(String(runs));
    clock.jumpTo(next + 1_000);
    const after = await eventually(`run ${runs} to succeed`, async () => {
      const b = await client.get(EtcdBackups, { namespace: NS, name: 'hourly' });
      return b.status?.history?.length === runs &&
        !b.status.currentRun &&
        b.status.nextScheduleTime !== before.status?.nextScheduleTime
        ? b
        : undefined;
    });
    t.equal(after.status?.history?.[0]?.outcome, 'Succeeded', `run ${runs} succeeded`);
    t.equal(after.status?.lastScheduleTime, new Date(next).toISOString(), 'it ran for its schedule time');
    t.equal(
      after.status?.lastBackup?.name,
      snapshotKey('demo', new Date(Date.parse(after.status!.history![0]!.startTime))),
    );
  }

  const kept = manifests().filter((m) => m.backup === 'hourly');
  t.equal(kept.length, 3, 'exactly 3 manifests of the schedule remain');
  const files = readdirSync(join(volume, 'demo'));
  for (const m of kept)
    t.ok(files.includes(m.snapshot.slice('demo/'.length)), `${m.snapshot} is beside its manifest`);
  const done = await client.get(EtcdBackups, { namespace: NS, name: 'hourly' });
  const newest = done
    .status!.history!.slice(0, 3)
    .map((h) => h.name)
    .sort();
  t.same(kept.map((m) => m.snapshot).sort(), newest, 'the 3 newest are the ones kept');
  t.equal(
    files.filter((f) => f.endsWith('.db')).length,
    4,
    "3 of the schedule's snapshots and the one-shot's",
  );
  t.ok(
    manifests().some((m) => m.backup === 'now'),
    "retention leaves another EtcdBackup's snapshot alone",
  );
  const events = await eventsOf('hourly');
  t.equal(
    events.filter((e) => e.reason === 'BackupSucceeded').reduce((n, e) => n + (e.count ?? 1), 0),
    5,
  );
  t.equal(events.filter((e) => e.type === 'Warning').length, 0, 'no warnings');
});

await t.test(
  'a run interrupted by an operator crash is settled: leftovers removed, then a new run',
  async (t) => {
    await operator.stop();
    // What a crash mid-upload leaves: the run in status and a partial file with no manifest.
    await client.create(EtcdBackups, backupResource('crashed', {}));
    const name = snapshotKey('demo', new Date(clock.now() - 60_000));
    writeFileSync(join(volume, `${name}.partial`), 'half a snapshot');
    await client.patch(
      EtcdBackups,
      { namespace: NS, name: 'crashed' },
      {
        type: 'merge',
        body: { status: { phase: 'Running', currentRun: { name, startTime: new Date().toISOString() } } },
      },
      { subresource: 'status' },
    );
    operator = await startOperator(t, sandbox.kubeConfig, [], undefined, { clock, claimDir });
    const settled = await eventually(
      'the interrupted run to be recorded and a new one to succeed',
      async () => {
        const b = await client.get(EtcdBackups, { namespace: NS, name: 'crashed' });
        return b.status?.phase === 'Succeeded' ? b : undefined;
      },
      60_000,
    );
    t.match(settled.status?.history, [
      { outcome: 'Succeeded' },
      { outcome: 'Failed', name, message: /interrupted/ },
    ]);
    t.notOk(existsSync(join(volume, `${name}.partial`)), 'the partial upload is gone');
    t.notOk(
      manifests().some((m) => m.snapshot === name),
      'no manifest for the interrupted run',
    );
    const events = await eventsOf('crashed');
    t.same(events.map((e) => e.reason).sort(), ['BackupSucceeded', 'Interrupted']);
  },
);
