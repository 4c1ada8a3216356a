/**
 * Backup and restore end to end, run per etcd version by backup-roundtrip-*.test.ts, on the sandbox
 * or (TEST_APISERVER=real) a real kube-apiserver, with real etcd, a real S3 server (versitygw) and
 * the GCS emulator (fake-gcs-server), and the operator as bin/etcd-operator builds it.
 *
 * A 3-member TLS cluster gets ~20,000 keys of mixed sizes, some overwritten and some deleted (a DB
 * of ~50 MiB). One-shot EtcdBackups store it to a volume (verified by restoring it), to S3 and to
 * GCS; each backup is restored into a new EtcdCluster, which must hold every key and value and the
 * revision of the source, with no restart, and no credential anywhere a user can read.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { bundle } from '../../hack/bundle.js';
import type { EtcdBackup, EtcdCluster, StorageLocation } from '../../lib/api/index.js';
import { EtcdBackups, EtcdClusters, Events, KubeClient, Pods, Secrets } from '../../lib/kube/index.js';
import { linkVersionedEtcdBinaries } from '../../sandbox/binaries.js';
import { etcdImages, hostImages, projectImages } from '../../sandbox/runtime/index.js';
import type { SandboxOptions } from '../../sandbox/index.js';
import type { TargetSandbox } from '../helpers/apiserver-target.js';
import { fillKeyspace } from '../helpers/backup-source.js';
import { converged, createClaim, createCluster } from '../helpers/cluster.js';
import { etcdClient } from '../helpers/etcd-client.js';
import { startOperator } from '../helpers/operator.js';
import { eventually } from '../helpers/sandbox.js';
import { s3CredentialsSecret, startGcsServer, startS3Server } from '../../sandbox/storage-servers.js';
import { createTimings } from '../helpers/timings.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const NS = 'roundtrip';
const KEYS = 20_000;
const TIMEOUT_MS = 240_000;

/**
 * The sandbox's images with this checkout's operator bundled as the project image: the restore
 * init containers run its `etcd-operator restore-member`.
 */
export async function roundTripSandboxOptions(t: Test): Promise<SandboxOptions> {
  const image = t.testdir({
    bin: { 'package.json': '{ "type": "commonjs" }', 'kubectl-etcd': '' },
  });
  await bundle(join(root, 'operator/main.ts'), join(image, 'bin', 'etcd-operator'));
  return {
    runtime: {
      images: [etcdImages(), projectImages(`${image}/`), hostImages()],
      backoff: { baseMs: 1000, maxMs: 4000 },
    },
  };
}

export async function roundTripScenario(t: Test, sandbox: TargetSandbox, version: string): Promise<void> {
  const { timed, summary } = createTimings();

  // Pods reach the machine at the runtime's address: the stores listen there, for the operator
  // (which takes the backups) and for the restore agents in the members' pods alike.
  const host = sandbox.runtime.hostIP;
  const s3 = await startS3Server(t, { host });
  const gcs = await startGcsServer(t, { host });

  // verify: Restore runs etcd-<minor> and etcdutl-<minor> from the operator's PATH, as in its image.
  const tools = linkVersionedEtcdBinaries(join(t.testdirName, 'tools'));
  const path = process.env.PATH;
  process.env.PATH = `${tools}:${path ?? ''}`;
  t.teardown(() => {
    process.env.PATH = path;
  });
  const claimDir = (namespace: string, claim: string) => sandbox.runtime.claimDir(namespace, claim);
  const operator = await startOperator(t, sandbox.kubeConfig, [], undefined, { claimDir });
  const client = new KubeClient(sandbox.kubeConfig);
  t.teardown(() => client.close());

  await createCluster(client, NS, 'source', { size: 3, version: `${version}.0` });
  await createClaim(client, NS, 'backups');
  await client.create(Secrets, s3CredentialsSecret(s3, NS, 's3-credentials'));
  await timed('source to converge', () => converged(client, NS, 'source', 3));

  const etcd = await etcdClient(sandbox.kubeConfig, NS, 'source');
  t.teardown(() => etcd.close());
  const expected = await timed('fill', () => fillKeyspace(etcd, KEYS));
  const { header } = await etcd.get('/data/00001').exec();
  const revision = Number(header.revision);
  t.comment(`${expected.size} keys at revision ${revision}`);

  const locations: Record<string, { storage: StorageLocation; verify: 'Checksum' | 'Restore' }> = {
    volume: { storage: { volume: { claimName: 'backups', path: '/' } }, verify: 'Restore' },
    s3: {
      storage: {
        s3: {
          bucket: 'backups',
          prefix: 'etcd',
          endpoint: s3.endpoint,
          region: s3.region,
          forcePathStyle: true,
          credentialsSecret: { name: 's3-credentials' },
        },
      },
      verify: 'Checksum',
    },
    gcs: {
      storage: { gcs: { bucket: 'backups', prefix: 'etcd', endpoint: gcs.endpoint } },
      verify: 'Checksum',
    },
  };

  const backups = new Map<string, EtcdBackup>();
  await t.test('a one-shot backup of ~50 MiB to each of the three backends', async (t) => {
    for (const [backend, { storage, verify }] of Object.entries(locations)) {
      await client.create(EtcdBackups, {
        apiVersion: 'etcd.io/v1alpha1',
        kind: 'EtcdBackup',
        metadata: { name: `to-${backend}`, namespace: NS },
        spec: { clusterName: 'source', storage, verify },
      } as EtcdBackup);
    }
    for (const backend of Object.keys(locations)) {
      const name = `to-${backend}`;
      const done = await timed(`backup to ${backend}`, () =>
        eventually(
          `${name} to finish`,
          async () => {
            const b = await client.get(EtcdBackups, { namespace: NS, name });
            return b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed' ? b : undefined;
          },
          TIMEOUT_MS,
        ),
      );
      t.equal(done.status?.phase, 'Succeeded', `${name}: ${JSON.stringify(done.status?.conditions)}`);
      const last = done.status?.lastBackup;
      t.equal(last?.revision, revision, `${name}: the revision of the source`);
      t.ok((last?.size ?? 0) > 40 * 2 ** 20, `${name}: ${last?.size} bytes, a DB of tens of MiB`);
      t.equal(last?.verified, locations[backend]!.verify, `${name}: verified by ${last?.verified}`);
      if (last?.verified === 'Restore') t.ok(last.verifiedTime, `${name}: and when`);
      const events = (await client.list(Events, { namespace: NS })).items.filter(
        (e) => e.involvedObject?.kind === 'EtcdBackup' && e.involvedObject.name === name,
      );
      t.same(
        events.map((e) => [e.type, e.reason]),
        [['Normal', 'BackupSucceeded']],
        `${name}: exactly one Event, the success`,
      );
      const readable = JSON.stringify({ status: done.status, events });
      t.notOk(
        readable.includes(s3.secretAccessKey) || readable.includes(s3.accessKeyId),
        `${name}: no credential in its status or Events`,
      );
      backups.set(backend, done);
    }
  });

  for (const backend of Object.keys(locations)) {
    await t.test(
      `restored from ${backend}, a new cluster holds every key, value and the revision`,
      async (t) => {
        const backup = backups.get(backend);
        if (!backup) return t.fail(`no backup to ${backend} to restore`);
        const name = `from-${backend}`;
        await client.create(EtcdClusters, {
          apiVersion: 'etcd.io/v1alpha1',
          kind: 'EtcdCluster',
          metadata: { name, namespace: NS },
          spec: { size: 3, version: `${version}.0`, bootstrap: { restore: { backupName: `to-${backend}` } } },
        } as EtcdCluster);
        const running = await timed(`restore from ${backend}`, () =>
          eventually(
            `${name} to be Running`,
            async () => {
              const c = await client.get(EtcdClusters, { namespace: NS, name });
              if (c.status?.phase === 'Failed')
                throw new Error(`Failed: ${c.status.conditions?.map((x) => x.message).join('; ')}`);
              return c.status?.phase === 'Running' && c.status.readyReplicas === 3 ? c : undefined;
            },
            TIMEOUT_MS,
          ),
        );
        const last = backup.status?.lastBackup;
        t.match(running.status?.restoredFrom, {
          snapshot: last?.name,
          sha256: last?.sha256,
          size: last?.size,
          revision,
        });
        t.not(running.status?.clusterID, last?.clusterID, 'a cluster ID of its own');

        const restored = await etcdClient(sandbox.kubeConfig, NS, name);
        try {
          // Read in slices of 1,000 keys: the whole keyspace is larger than a gRPC message may be.
          const got = new Map<string, string>();
          const revisions = new Set<number>();
          for (let thousand = 0; thousand < KEYS / 1000; thousand++) {
            const slice = await restored
              .getAll()
              .prefix(`/data/${String(thousand).padStart(2, '0')}`)
              .exec();
            revisions.add(Number(slice.header.revision));
            for (const kv of slice.kvs) got.set(kv.key.toString(), kv.value.toString());
          }
          t.equal(
            await restored.getAll().count(),
            expected.size,
            `${expected.size} keys in all, as in the source`,
          );
          const wrong = [...expected].filter(([k, v]) => got.get(k) !== v).map(([k]) => k);
          t.same(wrong.slice(0, 5), [], 'every key has its value');
          t.same([...revisions], [revision], `revision ${revision}, as in the source`);
        } finally {
          restored.close();
        }

        const pods = await client.list(Pods, {
          namespace: NS,
          labelSelector: { matchLabels: { 'etcd.io/cluster': name } },
        });
        t.same(
          pods.items.map((p) => [
            p.status?.initContainerStatuses?.[0]?.restartCount,
            p.status?.containerStatuses?.[0]?.restartCount,
          ]),
          [
            [0, 0],
            [0, 0],
            [0, 0],
          ],
          'each member restored once, and etcd never restarted',
        );
        const initEnv = JSON.stringify(pods.items.map((p) => p.spec?.initContainers));
        t.notOk(initEnv.includes(s3.secretAccessKey), 'no credential written into a pod spec');

        // Down again: the next restore has the machine to itself.
        await client.delete(EtcdClusters, { namespace: NS, name });
        await eventually(
          `${name}'s pods to be gone`,
          async () => {
            const left = await client.list(Pods, {
              namespace: NS,
              labelSelector: { matchLabels: { 'etcd.io/cluster': name } },
            });
            return left.items.length === 0 ? true : undefined;
          },
          TIMEOUT_MS,
        );
      },
    );
  }

  t.comment(summary());
  await operator.stop();
}
