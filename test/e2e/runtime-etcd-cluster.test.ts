/**
 * The pod runtime runs a hand-written 3-member etcd 3.5 cluster created through the API: peers find
 * each other by DNS name, exec and port-forward go through the API server, readiness follows etcd's
 * /health, a crash restarts the container, and a deleted pod's data survives in its claim.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CoreV1Api } from '@kubernetes/client-node';
import { Etcd3 } from 'etcd3';
import {
  createEtcdCluster,
  etcdClusterManifest,
  eventually,
  expectNothingLeft,
  forwardPort,
  podReady,
  startTestSandbox,
  startedMembers,
} from '../helpers/sandbox.js';

const ns = 'default';
const sandbox = await startTestSandbox(t);
const kc = sandbox.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);
const manifest = etcdClusterManifest('etcd', 'quay.io/coreos/etcd:v3.5.9');
const pod = (name: string) => core.readNamespacedPod({ name, namespace: ns });

await t.test('a 3-member cluster comes up with peers addressed by DNS name', async (t) => {
  await createEtcdCluster(kc, manifest);
  for (const name of ['etcd-0', 'etcd-1', 'etcd-2']) {
    const p = await pod(name);
    t.equal(p.spec?.nodeName, 'sandbox', `${name} is bound to the node`);
    t.equal(p.status?.phase, 'Running');
    t.match(p.status?.podIP, /^\d+\.\d+\.\d+\.\d+$/, `${name} has an address`);
  }
  const ips = new Set(
    await Promise.all(['etcd-0', 'etcd-1', 'etcd-2'].map(async (n) => (await pod(n)).status?.podIP)),
  );
  t.equal(ips.size, 3, 'each pod has its own address (all listen on 0.0.0.0:2379)');
  const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'data-etcd-0', namespace: ns });
  t.equal(claim.status?.phase, 'Bound', 'claims are bound');
});

await t.test('etcdctl member list through the API server exec shows 3 started members', async (t) => {
  t.same(await startedMembers(kc, ns, 'etcd-1'), ['etcd-0', 'etcd-1', 'etcd-2']);
});

await t.test('an inexact image version is substituted, and said in an Event', async (t) => {
  const events = await core.listNamespacedEvent({ namespace: ns });
  const substituted = events.items.filter((e) => e.reason === 'ImageVersionSubstituted');
  t.ok(substituted.length >= 1, 'an ImageVersionSubstituted event');
  t.match(substituted[0]?.message, /3\.5\.\d+ \(nearest patch of 3\.5\.9\)/);
});

await t.test('a port-forward to 2379 carries an etcd3 client session', async (t) => {
  const forward = await forwardPort(kc, ns, 'etcd-0', 2379);
  const client = new Etcd3({ hosts: `http://127.0.0.1:${forward.localPort}` });
  try {
    await client.put('greeting').value('hello from a port-forward');
    t.equal(await client.get('greeting').string(), 'hello from a port-forward');
  } finally {
    client.close();
    await forward.close();
  }
});

await t.test('a crashed container restarts with restartCount + 1', async (t) => {
  const before = (await pod('etcd-1')).status?.containerStatuses?.[0]?.restartCount ?? 0;
  const oldPid = sandbox.runtime.pod(ns, 'etcd-1')?.pids[0];
  sandbox.runtime.faults.crashContainer(ns, 'etcd-1');
  const status = await eventually('etcd-1 restarted and ready', async () => {
    const p = await pod('etcd-1');
    const c = p.status?.containerStatuses?.[0];
    return c && c.restartCount === before + 1 && podReady(p) ? c : undefined;
  });
  t.equal(status.lastState?.terminated?.exitCode, 137, 'the last run was killed by SIGKILL');
  t.not(sandbox.runtime.pod(ns, 'etcd-1')?.pids[0], oldPid, 'a new process');
});

await t.test('readiness follows /health: a member without quorum is not ready', async (t) => {
  sandbox.runtime.faults.pausePod(ns, 'etcd-1');
  sandbox.runtime.faults.pausePod(ns, 'etcd-2');
  try {
    await eventually('etcd-0 not ready', async () =>
      (await pod('etcd-0')) && !podReady(await pod('etcd-0')) ? true : undefined,
    );
    t.pass('etcd-0 turned unready when it lost quorum');
  } finally {
    sandbox.runtime.faults.resumePod(ns, 'etcd-1');
    sandbox.runtime.faults.resumePod(ns, 'etcd-2');
  }
  await eventually('etcd-0 ready again', async () => (podReady(await pod('etcd-0')) ? true : undefined));
  t.pass('etcd-0 is ready again once quorum is back');
});

await t.test('deleting a pod stops its process; its data survives in the claim', async (t) => {
  const info = sandbox.runtime.pod(ns, 'etcd-2');
  const pids = info?.pids ?? [];
  t.ok(pids.length > 0, 'etcd-2 has a process');
  const claimDir = sandbox.runtime.claimDir(ns, 'data-etcd-2');
  t.ok(claimDir, 'the claim has a directory');
  await core.deleteNamespacedPod({ name: 'etcd-2', namespace: ns });
  await eventually(
    'etcd-2 gone from the API',
    async () =>
      await pod('etcd-2').then(
        () => undefined,
        () => true,
      ),
  );
  t.same(
    pids.filter((p) => existsSync(`/proc/${p}`)),
    [],
    'its processes are gone',
  );
  t.ok(
    existsSync(join(claimDir ?? '', 'data', 'member', 'wal')),
    "etcd's data is still in the claim's directory",
  );

  const again = manifest.pods[2];
  if (!again) throw new Error('no third pod');
  await core.createNamespacedPod({ namespace: ns, body: again });
  await eventually(
    'etcd-2 back and ready',
    async () => (podReady(await pod('etcd-2')) ? true : undefined),
    120_000,
  );
  t.same(
    await startedMembers(kc, ns, 'etcd-2'),
    ['etcd-0', 'etcd-1', 'etcd-2'],
    'it rejoined with its old identity',
  );
});

await t.test('stop leaves no process, namespace, link or directory', async (t) => {
  await expectNothingLeft(t, sandbox);
});
