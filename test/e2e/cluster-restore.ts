/**
 * spec.bootstrap.restore end to end, run per etcd version by cluster-restore-*.test.ts, on the
 * sandbox with real etcd and the operator's own image as the restore agent (bundled here, so the
 * init containers run this checkout's `etcd-operator restore-member`).
 *
 * A source etcd gets ~2,000 keys with history; its backup (snapshot + manifest) is written to a
 * volume claim the way lib/backup writes one. A new 3-member TLS EtcdCluster restoring it comes up
 * Running with every key, value and the revision of the source, a new cluster ID and no restart;
 * then it scales up with a learner as any cluster does. A copy with one byte flipped fails a second
 * cluster with a condition naming the sha256 mismatch — and not one pod is ever created for it.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { CoreV1Api } from '@kubernetes/client-node';
import { bundle } from '../../hack/bundle.js';
import type { EtcdCluster } from '../../lib/api/index.js';
import { manifestKey } from '../../lib/backup/manifest.js';
import { createVolumeStore } from '../../lib/backup/volume-store.js';
import { createEtcdClusterController } from '../../lib/cluster/index.js';
import { EtcdClusters, Events, KubeClient, Namespaces, Pods, type Event } from '../../lib/kube/index.js';
import type { ControllerFactory } from '../../operator/controllers.js';
import { etcdImages, hostImages, projectImages } from '../../sandbox/runtime/index.js';
import { createClaim } from '../helpers/cluster.js';
import { fillKeyspace, startSourceEtcd, writeBackup } from '../helpers/backup-source.js';
import { etcdClient } from '../helpers/etcd-client.js';
import { startOperator } from '../helpers/operator.js';
import { createTimings } from '../helpers/timings.js';
import { eventually, expectNothingLeft, startTestSandbox } from '../helpers/sandbox.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const NS = 'restore';
const BAD_NS = 'restore-bad';
const RUNNING_TIMEOUT_MS = Number(process.env.RESTORE_TIMEOUT_MS ?? 180_000);
const AGENT_IMAGE = 'ghcr.io/etcd-k8s-operator/etcd-k8s-operator:e2e';

export async function restoreScenario(t: Test, version: string): Promise<void> {
  const { timed, summary } = createTimings();

  // The project image, as this checkout builds it: bin/etcd-operator and the etcd tools of each minor.
  const image = t.testdir({
    // kubectl-etcd is in the image too; the restore never runs it.
    bin: { 'package.json': '{ "type": "commonjs" }', 'kubectl-etcd': '' },
  });
  await timed('bundle', () => bundle(join(root, 'operator/main.ts'), join(image, 'bin', 'etcd-operator')));
  const sandbox = await startTestSandbox(t, {
    runtime: { images: [etcdImages(), projectImages(`${image}/`), hostImages()] },
  });
  const claimDir = (namespace: string, claim: string) => sandbox.runtime.claimDir(namespace, claim);
  // The EtcdCluster controller with the claims the sandbox mounts (what --backup-volume-root is in a pod).
  const restoring: ControllerFactory = (runtime) => {
    const { controller, close } = createEtcdClusterController({
      client: runtime.client,
      cache: runtime.cache,
      recorder: runtime.recorder,
      logger: runtime.logger,
      clock: runtime.clock,
      concurrency: runtime.concurrency,
      replaceUnhealthyAfterMs: runtime.replaceUnhealthyAfterMs,
      claimDir,
      agentImage: AGENT_IMAGE,
    });
    runtime.onClose(close);
    return controller;
  };
  const operator = await startOperator(t, sandbox.kubeConfig, [], undefined, { factories: [restoring] });
  const client = new KubeClient(sandbox.kubeConfig);
  t.teardown(() => client.close());

  // --- the source and its backup ---------------------------------------------------------------
  const { source, kv: sourceKV, admin: sourceAdmin } = await startSourceEtcd(t, version);
  const expected = await timed('fill', () => fillKeyspace(sourceKV, 2000));
  const sourceStatus = await sourceAdmin.status(source.clientURL);

  for (const namespace of [NS, BAD_NS]) {
    await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    await createClaim(client, namespace, 'backups');
  }
  const volume = await eventually('the backup claim to be bound', async () => claimDir(NS, 'backups'));
  const store = createVolumeStore({ root: volume, description: 'volume backups:/' });
  const backup = await writeBackup(store, sourceAdmin, source.clientURL, {
    cluster: 'src',
    namespace: 'elsewhere',
    etcdVersion: source.binaries.version,
  });
  t.equal(backup.manifest.keys, expected.size, `the backup holds ${expected.size} keys`);

  const restoredCluster = (name: string, namespace: string): EtcdCluster =>
    ({
      apiVersion: 'etcd.io/v1alpha1',
      kind: 'EtcdCluster',
      metadata: { name, namespace },
      spec: {
        size: 3,
        version: `${version}.0`,
        bootstrap: {
          restore: { source: { storage: { volume: { claimName: 'backups' } }, path: backup.snapshot } },
        },
      },
    }) as EtcdCluster;

  /** What a cluster and its pods look like, for a failure's diagnostics. */
  const describe = async (namespace: string, name: string) => {
    const c = await client.get(EtcdClusters, { namespace, name });
    const pods = await client.list(Pods, {
      namespace,
      labelSelector: { matchLabels: { 'etcd.io/cluster': name } },
    });
    return JSON.stringify({
      phase: c.status?.phase,
      conditions: c.status?.conditions?.map((x) => `${x.type}=${x.status} ${x.reason}: ${x.message}`),
      logs: await Promise.all(
        pods.items.map((p) =>
          sandbox.kubeConfig
            .makeApiClient(CoreV1Api)
            .readNamespacedPodLog({
              namespace,
              name: p.metadata?.name ?? '',
              container: 'restore',
              tailLines: 5,
            })
            .catch((err: unknown) => String(err)),
        ),
      ),
      pods: pods.items.map((p) => ({
        name: p.metadata?.name,
        init: p.status?.initContainerStatuses,
        main: p.status?.containerStatuses,
      })),
    });
  };
  /** `wait`, and on failure the state of the cluster as a comment. */
  const orDescribe = <T>(namespace: string, name: string, wait: Promise<T>): Promise<T> =>
    wait.catch(async (err: unknown) => {
      console.error(await describe(namespace, name).catch(String));
      throw err;
    });

  await t.test(
    'a new cluster restored from the backup has its data, and an identity of its own',
    async (t) => {
      await client.create(EtcdClusters, restoredCluster('restored', NS));
      const running = await timed('restore to Running', () =>
        orDescribe(
          NS,
          'restored',
          eventually(
            'the restored cluster to be Running',
            async () => {
              const c = await client.get(EtcdClusters, { namespace: NS, name: 'restored' });
              if (c.status?.phase === 'Failed')
                throw new Error(`Failed: ${c.status.conditions?.map((x) => x.message).join('; ')}`);
              return c.status?.phase === 'Running' ? c : undefined;
            },
            RUNNING_TIMEOUT_MS,
          ),
        ),
      );
      t.equal(running.status?.readyReplicas, 3);
      t.same(
        running.status?.members?.map((m) => m.name),
        ['restored-0', 'restored-1', 'restored-2'],
        "the new cluster's member names",
      );
      t.ok(
        running.status?.members?.every((m) => m.peerURL === `https://${m.name}.restored.${NS}.svc:2380`),
        'its own peer URLs, over TLS',
      );
      t.not(running.status?.clusterID, sourceStatus.clusterId, 'a cluster ID other than the source’s');
      t.match(running.status?.restoredFrom, {
        snapshot: backup.snapshot,
        sha256: backup.manifest.sha256,
        size: backup.manifest.size,
        revision: backup.manifest.revision,
        clusterID: sourceStatus.clusterId,
      });
      t.match(
        running.status?.conditions?.find((c) => c.type === 'Restored'),
        {
          status: 'True',
          reason: 'Restored',
          message: `restored snapshot ${backup.snapshot}, revision ${backup.manifest.revision}`,
        },
      );

      const etcd = await etcdClient(sandbox.kubeConfig, NS, 'restored');
      t.teardown(() => etcd.close());
      const all = await etcd.getAll().prefix('/').exec();
      const got = new Map(all.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
      t.equal(got.size, expected.size, `${got.size} keys, as in the source`);
      const wrong = [...expected].filter(([k, v]) => got.get(k) !== v).map(([k]) => k);
      t.same(wrong.slice(0, 5), [], 'every key has its value');
      t.equal(Number(all.header.revision), backup.manifest.revision, 'the revision of the source');

      const pods = await client.list(Pods, {
        namespace: NS,
        labelSelector: { matchLabels: { 'etcd.io/cluster': 'restored' } },
      });
      t.equal(pods.items.length, 3);
      for (const pod of pods.items) {
        const init = pod.status?.initContainerStatuses?.[0];
        t.match(
          init,
          { name: 'restore', restartCount: 0, state: { terminated: { exitCode: 0 } } },
          `${pod.metadata?.name}: the restore ran once`,
        );
        t.equal(
          pod.status?.containerStatuses?.[0]?.restartCount,
          0,
          `${pod.metadata?.name}: etcd never restarted`,
        );
      }
      const events = (await client.list(Events, { namespace: NS })).items.filter(
        (e: Event) => e.involvedObject?.name === 'restored',
      );
      t.ok(
        events.some((e) => e.reason === 'SnapshotVerified'),
        'an Event says the snapshot matched its manifest',
      );
      t.ok(
        events.some((e) => e.reason === 'Restored'),
        'and one that the cluster runs restored',
      );
    },
  );

  await t.test(
    'scaled up, a restored cluster adds a learner that replicates, without a restore',
    async (t) => {
      await client.patch(
        EtcdClusters,
        { namespace: NS, name: 'restored' },
        { type: 'merge', body: { spec: { size: 4 } } },
      );
      await timed('scale to 4', () =>
        eventually(
          'four healthy voting members',
          async () => {
            const c = await client.get(EtcdClusters, { namespace: NS, name: 'restored' });
            const members = c.status?.members ?? [];
            return members.length === 4 &&
              members.every((m) => m.healthy && !m.isLearner) &&
              c.status?.phase === 'Running'
              ? c
              : undefined;
          },
          180_000,
        ),
      );
      const added = await client.get(Pods, { namespace: NS, name: 'restored-3' });
      t.same(
        added.spec?.initContainers?.map((c) => c.name),
        ['await-peers'],
        'the new member has no restore container: it waits to be accepted, then replicates',
      );
      const etcd = await etcdClient(sandbox.kubeConfig, NS, 'restored');
      t.teardown(() => etcd.close());
      const key = [...expected.keys()][expected.size - 1]!;
      t.equal(await etcd.get(key).string(), expected.get(key), 'the data is still there');
    },
  );

  await t.test('a snapshot with one byte flipped fails its cluster, which gets no pod at all', async (t) => {
    const badVolume = await eventually('the second claim to be bound', async () =>
      claimDir(BAD_NS, 'backups'),
    );
    const snapshotFile = join(badVolume, backup.snapshot);
    mkdirSync(dirname(snapshotFile), { recursive: true });
    const bytes = readFileSync(join(volume, backup.snapshot));
    bytes[Math.floor(bytes.length / 3)]! ^= 0x01;
    writeFileSync(snapshotFile, bytes);
    copyFileSync(join(volume, manifestKey(backup.snapshot)), join(badVolume, manifestKey(backup.snapshot)));

    await client.create(EtcdClusters, restoredCluster('broken', BAD_NS));
    const failed = await timed('corrupt to Failed', () =>
      eventually('the cluster to fail', async () => {
        const c = await client.get(EtcdClusters, { namespace: BAD_NS, name: 'broken' });
        return c.status?.phase === 'Failed' ? c : undefined;
      }),
    );
    const condition = failed.status?.conditions?.find((c) => c.type === 'Restored');
    t.match(condition, {
      status: 'False',
      reason: 'SnapshotIntegrity',
      message: new RegExp(
        `^snapshot ${backup.snapshot.replaceAll('.', '\\.')} has sha256 [0-9a-f]{16}…, its manifest says ${backup.manifest.sha256.slice(0, 16)}…$`,
      ),
    });
    t.equal(failed.status?.restoredFrom, undefined, 'nothing pinned');
    const warnings = (await client.list(Events, { namespace: BAD_NS })).items.filter(
      (e: Event) =>
        e.involvedObject?.name === 'broken' && e.type === 'Warning' && e.reason === 'RestoreFailed',
    );
    t.equal(warnings.length, 1, 'one Warning Event');
    t.equal(warnings[0]?.message, condition?.message, 'saying the same');
    // Terminal: later passes do not look again, and still create nothing.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = await client.get(EtcdClusters, { namespace: BAD_NS, name: 'broken' });
    t.equal(after.status?.phase, 'Failed', 'still Failed');
    t.equal(
      sandbox.api.requests.count({ verb: 'create', resource: 'pods', namespace: BAD_NS }),
      0,
      'no pod was ever created for it',
    );
  });

  t.comment(summary());
  // The operator first, while the API server and the members still answer its reconciles in flight.
  await operator.stop();
  await expectNothingLeft(t, sandbox);
}
