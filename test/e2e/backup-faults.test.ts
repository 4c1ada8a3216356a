/**
 * EtcdBackup faults, end to end with real etcd 3.5, the operator and a real S3 server (versitygw)
 * behind a slow link: what a user sees when the store dies mid-upload and comes back, when the
 * credentials are wrong, when the bucket is missing, when the operator is SIGKILLed mid-upload, and
 * when the cluster does not exist yet. Each case checks the EtcdBackup's status (phase, condition
 * reason, a one-line message naming what is wrong), exactly the Events it warrants, that the
 * cluster was only read (same pods, no restart, same members), and that the bucket holds nothing a
 * restore would take for a backup: no manifest, no orphaned snapshot, no pending multipart upload.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { pipeline, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import t, { type Test } from 'tap';
import type { EtcdBackup } from '../../lib/api/index.js';
import { manifestKey, retryDelayMs } from '../../lib/backup/index.js';
import {
  EtcdBackups,
  EtcdClusters,
  Events,
  KubeClient,
  Pods,
  Secrets,
  type Event,
} from '../../lib/kube/index.js';
import { converged, createCluster } from '../helpers/cluster.js';
import { etcdClient } from '../helpers/etcd-client.js';
import { JumpClock } from '../helpers/jump-clock.js';
import { startOperator } from '../helpers/operator.js';
import { eventually, expectNothingLeft, startTestSandbox } from '../helpers/sandbox.js';
import { s3CredentialsSecret, startS3Server } from '../../sandbox/storage-servers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** The file's own test: what must outlive a subtest (a restarted operator) is torn down with it. */
const fileTest = t;
// Five faults, each waited out against real etcd and a throttled S3: longer than tap's default per file.
t.setTimeout(900_000);
const NS = 'faults';
const BUCKET = 'backups';
/** Per connection: two parts in flight make a 32 MiB snapshot take about eight seconds to upload. */
const LINK_BYTES_PER_SECOND = 2 * 1024 * 1024;
const DB_MIB = 32;

const kubeconfig = join(t.testdir(), 'kubeconfig');
const sandbox = await startTestSandbox(t, { kubeconfigPath: kubeconfig });
const s3 = await startS3Server(t, { buckets: [BUCKET] });
const link = await startSlowLink(t, new URL(s3.endpoint), LINK_BYTES_PER_SECOND);
const clock = new JumpClock();
let operator = await startOperator(t, sandbox.kubeConfig, [], undefined, { clock });
const client = new KubeClient(sandbox.kubeConfig);
t.teardown(() => client.close());
const bucket = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});
t.teardown(() => bucket.destroy());

await createCluster(client, NS, 'demo', { size: 3, version: '3.5.9' });
await converged(client, NS, 'demo', 3);
for (const [name, secretAccessKey] of [
  ['s3-creds', s3.secretAccessKey],
  ['wrong-creds', 'not-the-secret-5f2c9a1e7b'],
] as const) {
  await client.create(Secrets, s3CredentialsSecret(s3, NS, name, secretAccessKey));
}

// A database of a few tens of MiB (random, so that nothing shrinks it), for uploads that take time.
const etcd = await etcdClient(sandbox.kubeConfig, NS, 'demo');
t.teardown(() => etcd.close());
for (let i = 0; i < DB_MIB; i++) await etcd.put(`blob-${i}`).value(randomBytes(1024 * 1024));
etcd.close();
const before = await clusterState('demo');

function s3Backup(name: string, overrides: Record<string, unknown> = {}, clusterName = 'demo'): EtcdBackup {
  return {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdBackup',
    metadata: { name, namespace: NS },
    spec: {
      clusterName,
      storage: {
        s3: {
          bucket: BUCKET,
          prefix: `faults/${name}`,
          region: s3.region,
          endpoint: link.endpoint,
          forcePathStyle: true,
          credentialsSecret: { name: 's3-creds' },
          ...overrides,
        },
      },
    },
  } as unknown as EtcdBackup;
}

async function getBackup(name: string): Promise<EtcdBackup> {
  return client.get(EtcdBackups, { namespace: NS, name });
}

/** Waits until `check` holds for the backup; returns it. */
function backupWhen(name: string, what: string, check: (b: EtcdBackup) => boolean, timeoutMs = 120_000) {
  return eventually(
    `${name}: ${what}`,
    async () => {
      const b = await getBackup(name);
      return check(b) ? b : undefined;
    },
    timeoutMs,
  );
}

const succeeded = (b: EtcdBackup) => b.status?.phase === 'Succeeded' && !b.status.currentRun;
const failedRuns = (b: EtcdBackup) => (b.status?.history ?? []).filter((h) => h.outcome === 'Failed');
const condition = (b: EtcdBackup) => b.status?.conditions?.find((c) => c.type === 'Succeeded');

async function eventsOf(name: string): Promise<Event[]> {
  const events = await client.list(Events, { namespace: NS });
  return events.items
    .filter((e) => e.involvedObject?.kind === 'EtcdBackup' && e.involvedObject.name === name)
    .sort((a, b) => String(a.firstTimestamp).localeCompare(String(b.firstTimestamp)));
}

/**
 * The reasons of a backup's Events, each as often as it was recorded (an Event's count), once every
 * run in its history has its Event: each run, failed or not, says how it went exactly once.
 */
async function runEvents(name: string): Promise<string[]> {
  return eventually(`${name}: an Event for every run`, async () => {
    const runs = (await getBackup(name)).status?.history?.length ?? 0;
    const reasons = (await eventsOf(name)).flatMap((e) =>
      Array.from({ length: e.count ?? 1 }, () => `${e.type}/${e.reason}`),
    );
    return reasons.length === runs ? reasons : undefined;
  });
}

/** Object keys and pending multipart uploads under a prefix of the bucket, asked of versitygw directly. */
async function stored(prefix: string): Promise<{ objects: string[]; uploads: string[] }> {
  const objects = await bucket.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  const uploads = await bucket.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return {
    objects: (objects.Contents ?? []).map((o) => o.Key ?? '').sort(),
    uploads: (uploads.Uploads ?? []).map((u) => u.Key ?? '').sort(),
  };
}

/** What a backup must never change: the pods (by uid), their restarts, the members. */
async function clusterState(name: string) {
  const pods = await client.list(Pods, {
    namespace: NS,
    labelSelector: { matchLabels: { 'etcd.io/cluster': name } },
  });
  const cluster = await client.get(EtcdClusters, { namespace: NS, name });
  return {
    phase: cluster.status?.phase,
    pods: pods.items
      .map((p) => ({
        name: p.metadata?.name,
        uid: p.metadata?.uid,
        restarts: (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    members: (cluster.status?.members ?? []).map((m) => `${m.name}=${m.id}`).sort(),
  };
}

async function clusterUntouched(t: Test) {
  t.same(await clusterState('demo'), before, 'the cluster is untouched: same pods, no restart, same members');
}

/** A one-line message that names the store and what is wrong, and no secret. */
function oneLine(t: Test, message: string | undefined, pattern: RegExp) {
  t.match(message, pattern);
  t.notOk(message?.includes('\n'), 'one line');
  t.notOk(message?.includes(s3.secretAccessKey), 'no secret');
  t.notOk(message?.includes(s3.accessKeyId), 'no access key');
}

/** A finished backup: only its successful run's snapshot and manifest are stored, nothing pending. */
async function onlyTheBackup(t: Test, b: EtcdBackup) {
  const name = b.status!.lastBackup!.name;
  t.same(
    await stored(`faults/${b.metadata.name}/`),
    {
      objects: [`faults/${b.metadata.name}/${name}`, `faults/${b.metadata.name}/${manifestKey(name)}`].sort(),
      uploads: [],
    },
    'the bucket holds the snapshot and manifest of the run that succeeded, and no pending upload',
  );
}

await t.test(
  'the S3 server stopped mid-upload: BackendUnreachable, nothing left, a retry after backoff succeeds',
  async (t) => {
    await client.create(EtcdBackups, s3Backup('outage'));
    const uploading = await backupWhen(
      'outage',
      'the upload to be under way',
      (b) => (b.status?.currentRun?.bytesWritten ?? 0) > 0,
    );
    await s3.stop();
    t.ok(
      uploading.status?.currentRun?.bytesWritten,
      `stopped at ${uploading.status?.currentRun?.bytesWritten} bytes`,
    );
    const failed = await backupWhen('outage', 'the run to fail', (b) => b.status?.phase === 'Failed');
    t.notOk(failed.status?.currentRun, 'no run in progress');
    t.equal(failed.status?.consecutiveFailures, 1);
    t.match(condition(failed), { status: 'False', reason: 'BackendUnreachable' });
    oneLine(
      t,
      condition(failed)?.message,
      /^s3:\/\/backups\/faults\/outage\/: the store did not answer writing "demo\/demo-\d{8}T\d{6}\.\d{3}Z\.db" \(/,
    );
    t.match(failed.status?.history, [{ outcome: 'Failed', name: uploading.status?.currentRun?.name }]);
    t.same(await runEvents('outage'), ['Warning/BackendUnreachable'], 'one Warning so far');

    await s3.start();
    const cut = await stored('faults/outage/');
    t.same(cut.objects, [], 'no object: neither a snapshot nor a manifest');
    // The stopped server could not be told to abort: the run's upload may still be pending.
    const key = `faults/outage/${uploading.status!.currentRun!.name}`;
    t.ok(
      cut.uploads.every((u) => u === key),
      `no pending upload but the cut one's (${JSON.stringify(cut.uploads)})`,
    );

    // The retry waits for its backoff; the clock skips it.
    clock.jump(retryDelayMs(1) + 1_000);
    const done = await backupWhen('outage', 'the retry to succeed', succeeded);
    const [retry, first] = done.status!.history!;
    t.match(done.status?.history, [{ outcome: 'Succeeded' }, { outcome: 'Failed' }]);
    t.ok(
      Date.parse(retry!.startTime) - Date.parse(first!.completionTime!) >= retryDelayMs(1),
      'the retry came after the backoff',
    );
    t.match(condition(done), { status: 'True', reason: 'SnapshotStored' });
    t.equal(done.status?.consecutiveFailures, 0);
    t.same(await runEvents('outage'), ['Warning/BackendUnreachable', 'Normal/BackupSucceeded']);
    await onlyTheBackup(t, done);
    await clusterUntouched(t);
    await client.delete(EtcdBackups, { namespace: NS, name: 'outage' });
  },
);

/** A backup that fails before it stores anything, each run with `reason`. */
async function refused(t: Test, name: string, reason: string, message: RegExp) {
  const failed = await backupWhen(name, 'the run to fail', (b) => b.status?.phase === 'Failed');
  t.match(condition(failed), { status: 'False', reason });
  oneLine(t, condition(failed)?.message, message);
  t.notOk(failed.status?.lastBackup, 'no backup recorded');
  // It is retried with backoff; each failed run says so once, and nothing else is said.
  const reasons = await runEvents(name);
  t.ok(reasons.length >= 1, `${reasons.length} failed runs`);
  t.same(
    reasons,
    Array.from({ length: reasons.length }, () => `Warning/${reason}`),
    `one ${reason} Warning per run, nothing else`,
  );
  t.same(await stored(`faults/${name}/`), { objects: [], uploads: [] }, 'nothing written');
  await clusterUntouched(t);
  await client.delete(EtcdBackups, { namespace: NS, name });
}

await t.test('wrong S3 credentials: CredentialsRefused, no object written', async (t) => {
  await client.create(EtcdBackups, s3Backup('wrong-key', { credentialsSecret: { name: 'wrong-creds' } }));
  await refused(
    t,
    'wrong-key',
    'CredentialsRefused',
    /^s3:\/\/backups\/faults\/wrong-key\/: access denied writing "demo\/demo-\S+\.db" \(/,
  );
});

await t.test('a missing bucket: BucketNotFound naming it', async (t) => {
  await client.create(EtcdBackups, s3Backup('no-bucket', { bucket: 'no-such-bucket' }));
  await refused(
    t,
    'no-bucket',
    'BucketNotFound',
    /^s3:\/\/no-such-bucket\/faults\/no-bucket\/: bucket "no-such-bucket" does not exist$/,
  );
});

await t.test(
  'the operator SIGKILLed mid-upload: the next operator records the run Interrupted, removes its upload, and a new run succeeds',
  async (t) => {
    await operator.stop();
    const child = operatorProcess(join(dirname(kubeconfig), 'operator.log'));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code)),
    );
    await client.create(EtcdBackups, s3Backup('killed'));
    const uploading = await backupWhen(
      'killed',
      'the upload to be under way',
      (b) => (b.status?.currentRun?.bytesWritten ?? 0) > 0,
    );
    child.kill('SIGKILL');
    t.equal(await exited, 'SIGKILL', 'the operator was killed');
    const run = uploading.status!.currentRun!.name;
    const crashed = await getBackup('killed');
    t.equal(crashed.status?.phase, 'Running', 'the crash left the run in status');
    const left = await stored('faults/killed/');
    t.same(left.objects, [], 'the crash stored no object');
    t.ok(
      left.uploads.every((u) => u === `faults/killed/${run}`),
      `no pending upload but the killed run's (${JSON.stringify(left.uploads)})`,
    );

    // The root test owns it: a subtest's teardown would stop it when this subtest ends.
    operator = await startOperator(fileTest, sandbox.kubeConfig, [], undefined, { clock });
    const settled = await backupWhen('killed', 'the run to be settled', (b) => b.status?.phase === 'Failed');
    t.notOk(settled.status?.currentRun, 'the interrupted run is cleared');
    t.match(condition(settled), { status: 'False', reason: 'Interrupted' });
    oneLine(
      t,
      condition(settled)?.message,
      /^run demo\/demo-\S+\.db was interrupted \(the operator stopped\); its partial upload was removed$/,
    );
    t.match(settled.status?.history, [{ outcome: 'Failed', name: run, message: /interrupted/ }]);
    t.same(await stored('faults/killed/'), { objects: [], uploads: [] }, 'its pending upload is aborted');

    clock.jump(retryDelayMs(1) + 1_000);
    const done = await backupWhen('killed', 'a new run to succeed', succeeded);
    t.match(done.status?.history, [{ outcome: 'Succeeded' }, { outcome: 'Failed', name: run }]);
    t.not(done.status?.lastBackup?.name, run, 'a new snapshot, not the interrupted one');
    t.same(await runEvents('killed'), ['Warning/Interrupted', 'Normal/BackupSucceeded']);
    await onlyTheBackup(t, done);
    await clusterUntouched(t);
    await client.delete(EtcdBackups, { namespace: NS, name: 'killed' });
  },
);

await t.test(
  'a backup of a cluster that does not exist: ClusterNotFound, retried, then it succeeds as soon as the cluster exists',
  async (t) => {
    await client.create(EtcdBackups, s3Backup('early', {}, 'late'));
    const missing = await backupWhen(
      'early',
      'the missing cluster to be recorded',
      (b) => b.status?.phase === 'Failed',
    );
    t.match(condition(missing), {
      status: 'False',
      reason: 'ClusterNotFound',
      message: `EtcdCluster "late" does not exist in namespace ${NS}`,
    });
    t.notOk(missing.status?.currentRun, 'no run was started');
    clock.jump(retryDelayMs(1) + 1_000);
    await backupWhen('early', 'a retry', (b) => (b.status?.consecutiveFailures ?? 0) >= 2);

    await createCluster(client, NS, 'late', { size: 1, version: '3.5.9' });
    await converged(client, NS, 'late', 1);
    const lateBefore = await clusterState('late');
    // No clock jump: the new cluster (and then its quorum) queues the backup, which does not wait
    // out its backoff.
    const done = await backupWhen('early', 'the backup to succeed', succeeded);
    const [success, lastFailure] = done.status!.history!;
    const backoffEnd = Date.parse(lastFailure!.completionTime!) + retryDelayMs(failedRuns(done).length);
    t.ok(
      Date.parse(success!.startTime) < backoffEnd,
      `the run started at ${success!.startTime}, before its backoff would have ended at ${new Date(backoffEnd).toISOString()}`,
    );
    t.equal(done.status?.lastBackup?.member, 'late-0', 'taken from the new cluster');
    const reasons = await runEvents('early');
    t.equal(reasons.at(-1), 'Normal/BackupSucceeded', 'then one success');
    const warnings = reasons.slice(0, -1);
    t.ok(warnings.filter((r) => r === 'Warning/ClusterNotFound').length >= 2, 'ClusterNotFound, then again');
    // A run that starts while the new cluster's pod is still coming up finds no member to reach.
    t.same(
      warnings.filter((r) => r !== 'Warning/ClusterNotFound' && r !== 'Warning/NoQuorum'),
      [],
      `only ClusterNotFound (or NoQuorum while it started) Warnings: ${JSON.stringify(warnings)}`,
    );
    t.equal(warnings.length, failedRuns(done).length, 'one Warning per failed run');
    t.equal(failedRuns(done).length, (done.status?.history?.length ?? 0) - 1, 'and one success');
    await onlyTheBackup(t, done);
    t.same(await clusterState('late'), lateBefore, 'the new cluster is untouched');
    await clusterUntouched(t);
  },
);

await t.test('the operator stops, then the sandbox, leaving nothing behind', async (t) => {
  // The operator first, while the API server and the members still answer its reconciles in flight.
  await operator.stop();
  await expectNothingLeft(t, sandbox);
});

/**
 * bin/etcd-operator as a process of its own, as it runs in a pod, so that it can be SIGKILLed; its
 * log goes to `log`. Killed at the end of the file if it still runs.
 */
function operatorProcess(log: string): ChildProcess {
  const out = openSync(log, 'a');
  const flags = [`--kubeconfig=${kubeconfig}`, '--health-addr=0', '--metrics-addr=0'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'operator/main.ts', ...flags], {
    cwd: root,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  fileTest.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/**
 * A TCP proxy to `target` whose uploads (client to server) go at most `bytesPerSecond` per
 * connection, so that a put takes long enough to be cut off half-way. A connection whose server
 * side fails or closes is closed on the client side too, as a dead server's would be.
 */
async function startSlowLink(t: Test, target: URL, bytesPerSecond: number): Promise<{ endpoint: string }> {
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(downstream).add(upstream);
    const close = () => {
      downstream.destroy();
      upstream.destroy();
      sockets.delete(downstream);
      sockets.delete(upstream);
    };
    pipeline(downstream, throttle(bytesPerSecond), upstream, close);
    pipeline(upstream, downstream, close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function throttle(bytesPerSecond: number): Transform {
  const start = Date.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      const due = start + (sent / bytesPerSecond) * 1000;
      setTimeout(() => done(null, chunk), Math.max(0, due - Date.now()));
    },
  });
}
