/**
 * The restore planner and what it does to the plan, by tables: no member before the snapshot is
 * pinned; initial members (only they) restore the pinned snapshot with the cluster's own identity;
 * failures fail the cluster with a condition and one Warning, terminal ones for good, missing
 * backups retried with a growing delay; the restore is done once the members run.
 */
import t from 'tap';
import {
  parseEtcdCluster,
  type Condition,
  type EtcdCluster,
  type EtcdClusterStatus,
  type RestoredFrom,
} from '../../lib/api/index.js';
import type { Pod } from '../../lib/kube/resources.js';
import { restoreVersionProblem, type RestoreSourceFailure } from '../../lib/backup/restore-source.js';
import { credentialVariableName } from '../../lib/backup/restore-credentials.js';
import { etcdToolName, snapshotRestoreCommand } from '../../lib/backup/etcd-tools.js';
import type { Observed } from '../../lib/cluster/observed.js';
import { plan } from '../../lib/cluster/plan.js';
import {
  planRestoreStart,
  recordedRestore,
  restoreCheckNeeded,
  restoreRetryAfterMs,
} from '../../lib/cluster/restore.js';
import { computeStatus } from '../../lib/cluster/status.js';
import { observedCluster } from '../helpers/observed.js';

const NOW = new Date('2026-12-07T12:00:00Z');
const CONFIG = { replaceUnhealthyAfterMs: 60_000, agentImage: 'ghcr.io/x/etcd-k8s-operator:1.2.3' };
const SHA = 'ab'.repeat(32);
const VOLUME = { volume: { claimName: 'backups', path: '/' } };
const SOURCE = { storage: VOLUME, path: 'src/src-20261207T010203.456Z.db' };

const PIN: RestoredFrom = {
  storage: VOLUME,
  snapshot: SOURCE.path,
  sha256: SHA,
  size: 20512,
  revision: 2345,
  etcdVersion: '3.5.35',
  clusterID: '0123456789abcdef',
  snapshotTime: '2026-12-07T01:02:03Z',
  verifiedTime: '2026-12-07T11:59:00Z',
};

function cluster(
  restore: Record<string, unknown> = { source: SOURCE },
  status?: EtcdClusterStatus,
  generation = 1,
) {
  const { object } = parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'demo', namespace: 'ns', uid: 'uid-1', generation },
    spec: { size: 3, bootstrap: { restore } },
  });
  return status ? { ...object, status } : object;
}

const observed = (c: EtcdCluster, parts: Partial<Observed> = {}): Observed => observedCluster(c, NOW, parts);

const condition = (
  status: Condition['status'],
  reason: string,
  at = '2026-12-07T11:00:00Z',
  generation = 1,
) => ({
  type: 'Restored',
  status,
  reason,
  message: `m ${reason}`,
  lastTransitionTime: at,
  observedGeneration: generation,
});
const pods = (p: ReturnType<typeof plan>) =>
  p.resources.flatMap((r) => (r.kind === 'CreatePod' ? [r.pod] : []));
const args = (pod: Pod, container: 'init' | 'etcd') =>
  (container === 'init' ? pod.spec?.initContainers?.[0] : pod.spec?.containers[0])?.args ?? [];
const flag = (list: string[], name: string) =>
  list.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

t.test('whether a pass must look at the backup', async (t) => {
  const rows: [string, EtcdCluster, boolean, boolean][] = [
    [
      'no restore asked',
      parseEtcdCluster({
        apiVersion: 'etcd.io/v1alpha1',
        kind: 'EtcdCluster',
        metadata: { name: 'demo' },
        spec: {},
      }).object,
      false,
      false,
    ],
    ['a new cluster', cluster(), false, true],
    ['a snapshot already pinned', cluster(), true, false],
    ['bootstrapped already', cluster(undefined, { clusterID: '0123456789abcdef' }), false, false],
    [
      'a missing backup on record: look again',
      cluster(undefined, { conditions: [condition('False', 'BackupNotFound')] }),
      false,
      true,
    ],
    [
      'a corrupted snapshot on record: never again',
      cluster(undefined, { conditions: [condition('False', 'SnapshotIntegrity')] }),
      false,
      false,
    ],
    [
      'an incompatible snapshot on record',
      cluster(undefined, { conditions: [condition('False', 'IncompatibleVersion')] }),
      false,
      false,
    ],
    [
      'a corrupted snapshot, but the spec changed since',
      cluster(undefined, { conditions: [condition('False', 'SnapshotIntegrity')] }, 2),
      false,
      true,
    ],
  ];
  for (const [what, c, pinned, needed] of rows) t.equal(restoreCheckNeeded(c, pinned), needed, what);
});

t.test('status.restoredFrom is the pin only for the restore the spec names', async (t) => {
  t.same(recordedRestore(cluster(undefined, { restoredFrom: PIN })), PIN, 'the same source');
  const reordered = { ...PIN, storage: { volume: { path: '/', claimName: 'backups' } } };
  t.same(
    recordedRestore(cluster(undefined, { restoredFrom: reordered })),
    reordered,
    'fields in another order',
  );
  t.equal(
    recordedRestore(cluster({ source: { ...SOURCE, path: 'other.db' } }, { restoredFrom: PIN })),
    undefined,
  );
  t.equal(recordedRestore(cluster({ backupName: 'nightly' }, { restoredFrom: PIN })), undefined);
  const fromBackup = { ...PIN, backupName: 'nightly' };
  t.same(recordedRestore(cluster({ backupName: 'nightly' }, { restoredFrom: fromBackup })), fromBackup);
  t.equal(recordedRestore(cluster({ backupName: 'weekly' }, { restoredFrom: fromBackup })), undefined);
});

t.test('a pinned snapshot: the initial members restore it, with the new cluster identity', async (t) => {
  const c = cluster();
  const p = plan(observed(c, { restore: { pinned: PIN } }), CONFIG);
  t.match(p.situation, {
    phase: 'Restoring',
    reason: 'RestoringMembers',
    message: /^restoring 3 members \(0 running\) from src\//,
  });
  t.equal(pods(p).length, 3, 'three members at once');
  t.match(p.restore, {
    pin: PIN,
    condition: { type: 'Restored', status: 'Unknown', reason: 'Restoring' },
    event: {
      type: 'Normal',
      reason: 'SnapshotVerified',
      message:
        /^snapshot src\/src-20261207T010203\.456Z\.db matches its manifest \(20512 bytes, sha256 abababababababab…, revision 2345\)/,
    },
  });
  for (const pod of pods(p)) {
    const init = pod.spec?.initContainers ?? [];
    t.equal(init.length, 1, `${pod.metadata?.name}: one init container`);
    t.equal(init[0]?.image, CONFIG.agentImage, 'the agent image');
    t.same(init[0]?.command, ['/usr/local/bin/etcd-operator', 'restore-member']);
    const restore = args(pod, 'init');
    const etcd = args(pod, 'etcd');
    for (const name of [
      'name',
      'data-dir',
      'initial-cluster',
      'initial-cluster-token',
      'initial-advertise-peer-urls',
    ]) {
      t.equal(flag(restore, name), flag(etcd, name), `--${name} as etcd starts with it`);
    }
    t.equal(
      flag(restore, 'initial-cluster-token'),
      'uid-1',
      "the token is the new cluster's uid: a new cluster ID",
    );
    t.same(
      [
        flag(restore, 'snapshot'),
        flag(restore, 'sha256'),
        flag(restore, 'size'),
        flag(restore, 'etcd-version'),
      ],
      [PIN.snapshot, SHA, '20512', '3.5.9'],
    );
    t.same(JSON.parse(flag(restore, 'storage') ?? ''), VOLUME);
    t.equal(flag(restore, 'claim-root'), '/var/lib/etcd-restore/claims');
    t.match(init[0]?.volumeMounts, [
      { name: 'data', mountPath: '/var/lib/etcd' },
      { name: 'backup', mountPath: '/var/lib/etcd-restore/claims/ns/backups', readOnly: true },
    ]);
    t.match(pod.spec?.volumes, [
      { name: 'data' },
      {},
      {},
      { name: 'backup', persistentVolumeClaim: { claimName: 'backups', readOnly: true } },
    ]);
    t.notOk(
      pod.spec?.containers[0]?.volumeMounts?.some((m) => m.name === 'backup'),
      'etcd itself never sees the backup',
    );
  }
  const status = computeStatus(observed(c, { restore: { pinned: PIN } }), p);
  t.same(status.restoredFrom, PIN, 'the pin goes to status before any pod');
  t.equal(status.phase, 'Restoring');
  t.match(status.conditions, [
    { type: 'Available' },
    { type: 'Progressing', status: 'True', reason: 'RestoringMembers' },
    { type: 'Degraded' },
    { type: 'Restored', status: 'Unknown' },
  ]);

  const again = plan(
    observed(cluster(undefined, { restoredFrom: PIN }), { restore: { pinned: PIN } }),
    CONFIG,
  );
  t.equal(again.restore?.event, undefined, 'the pin is announced once');
});

t.test('credentials reach the agent from their Secret, never as arguments', async (t) => {
  const s3 = {
    s3: { bucket: 'etcd-backups', forcePathStyle: false, credentialsSecret: { name: 's3-creds' } },
  };
  const c = cluster({ source: { storage: s3, path: 'a/b.db' } });
  const p = plan(observed(c, { restore: { pinned: { ...PIN, storage: s3, snapshot: 'a/b.db' } } }), CONFIG);
  const init = pods(p)[0]?.spec?.initContainers?.[0];
  t.same(init?.env, [
    {
      name: 'ETCD_RESTORE_CREDENTIAL_ACCESS_KEY_ID',
      valueFrom: { secretKeyRef: { name: 's3-creds', key: 'accessKeyId' } },
    },
    {
      name: 'ETCD_RESTORE_CREDENTIAL_SECRET_ACCESS_KEY',
      valueFrom: { secretKeyRef: { name: 's3-creds', key: 'secretAccessKey' } },
    },
    {
      name: 'ETCD_RESTORE_CREDENTIAL_SESSION_TOKEN',
      valueFrom: { secretKeyRef: { name: 's3-creds', key: 'sessionToken', optional: true } },
    },
  ]);
  t.notOk(
    init?.args?.some((a) => a.startsWith('--claim-root')),
    'no claim for an object store',
  );
  t.equal(credentialVariableName('credentials.json'), 'ETCD_RESTORE_CREDENTIAL_CREDENTIALS_JSON');
  const dollar = plan(
    observed(c, { restore: { pinned: { ...PIN, storage: s3, snapshot: 'a/$(HOME).db' } } }),
    CONFIG,
  );
  t.equal(
    flag(args(pods(dollar)[0]!, 'init'), 'snapshot'),
    'a/$$(HOME).db',
    '$( is escaped from Kubernetes expansion',
  );
});

t.test('a snapshot that fails its check: Failed, one Warning, no pod', async (t) => {
  const failure: RestoreSourceFailure = {
    reason: 'SnapshotIntegrity',
    message: `snapshot ${SOURCE.path} has sha256 cdcdcdcdcdcdcdcd…, its manifest says abababababababab…`,
    retry: false,
  };
  const c = cluster();
  const p = plan(observed(c, { restore: { failure } }), CONFIG);
  t.same(p.situation, { phase: 'Failed', reason: 'SnapshotIntegrity', message: failure.message });
  t.same(p.resources, [], 'no member is created');
  t.same(p.restore?.condition, {
    type: 'Restored',
    status: 'False',
    reason: 'SnapshotIntegrity',
    message: failure.message,
  });
  t.same(p.restore?.event, { type: 'Warning', reason: 'RestoreFailed', message: failure.message });
  const status = computeStatus(observed(c, { restore: { failure } }), p);
  t.match(status.conditions, [
    {},
    {},
    { type: 'Degraded', status: 'True', reason: 'SnapshotIntegrity' },
    { type: 'Restored', status: 'False' },
  ]);

  const recorded = cluster(undefined, { ...status });
  const later = plan(observed(recorded, { restore: {} }), CONFIG);
  t.same(
    later.situation,
    p.situation,
    'a later pass, which looks no more, stays Failed with the same message',
  );
  t.equal(later.restore?.event, undefined, 'and records no second Warning');
  t.same(later.resources, []);
});

t.test('a backup not found yet is looked for again, later and later', async (t) => {
  const failure: RestoreSourceFailure = {
    reason: 'BackupNotFound',
    message: 'EtcdBackup nightly has no successful snapshot yet',
    retry: true,
  };
  const first = plan(observed(cluster({ backupName: 'nightly' }), { restore: { failure } }), CONFIG);
  t.same(first.situation, { phase: 'Failed', reason: 'BackupNotFound', message: failure.message });
  t.equal(first.requeueAfterMs, 5_000);
  t.same(pods(first), []);
  const since = (ago: number) =>
    cluster(
      { backupName: 'nightly' },
      {
        conditions: [
          {
            ...condition('False', 'BackupNotFound', new Date(NOW.getTime() - ago).toISOString()),
            message: failure.message,
          },
        ],
      },
    );
  for (const [ago, delay] of [
    [1_000, 5_000],
    [40_000, 40_000],
    [3_600_000, 300_000],
  ] as const) {
    const p = plan(observed(since(ago), { restore: { failure } }), CONFIG);
    t.equal(p.requeueAfterMs, delay, `missing for ${ago / 1000} s: look again in ${delay / 1000} s`);
    t.equal(p.restore?.event, undefined, 'the same failure is not announced again');
  }
  t.equal(restoreRetryAfterMs(since(40_000), NOW, true), 5_000, 'a new failure starts over');
});

t.test('once the members run, the restore is done and scale-up joins as usual', async (t) => {
  const c = cluster(undefined, {
    clusterID: 'fedcba9876543210',
    restoredFrom: PIN,
    members: [
      { name: 'demo-0', id: '0000000000000001' },
      { name: 'demo-1', id: '0000000000000002' },
    ],
    conditions: [condition('Unknown', 'Restoring')],
  });
  const p = plan(observed(c), CONFIG);
  t.match(p.restore, {
    pin: PIN,
    condition: {
      status: 'True',
      reason: 'Restored',
      message: /^restored snapshot src\/src-20261207T010203\.456Z\.db, revision 2345$/,
    },
    event: { type: 'Normal', reason: 'Restored' },
  });
  t.ok(
    pods(p).every((pod) => !pod.spec?.initContainers),
    'a pod made after the bootstrap has no restore',
  );
  const done = plan(
    observed(cluster(undefined, { ...c.status, conditions: [condition('True', 'Restored')] })),
    CONFIG,
  );
  t.equal(done.restore?.event, undefined, 'announced once');
});

t.test('which minors can restore which', async (t) => {
  const rows: [string, string, RegExp | undefined][] = [
    ['3.5.35', '3.5.9', undefined],
    ['3.4.23', '3.5.9', undefined],
    ['3.5.21', '3.6.16', undefined],
    ['3.6.16', '3.5.9', /cannot restore a newer version/],
    ['3.4.23', '3.6.16', /etcd 3\.6 restores snapshots of 3\.5 and 3\.6 only/],
    ['nonsense', '3.5.9', undefined],
  ];
  for (const [from, to, problem] of rows) {
    const found = restoreVersionProblem(from, to);
    if (problem) t.match(found, problem, `${from} → ${to}: refused`);
    else t.equal(found, undefined, `${from} → ${to}: fine`);
  }
  t.same(
    ['3.4.23', '3.5.9', '3.6.0'].map((v) => [
      snapshotRestoreCommand(v),
      etcdToolName(snapshotRestoreCommand(v), v.slice(0, 3)),
    ]),
    [
      ['etcdctl', 'etcdctl-3.4'],
      ['etcdutl', 'etcdutl-3.5'],
      ['etcdutl', 'etcdutl-3.6'],
    ],
    'etcdctl restores 3.4, etcdutl the others',
  );
});

t.test('planRestoreStart alone: nothing pinned and nothing found is a failure on record', async (t) => {
  const c = cluster(undefined, { conditions: [condition('False', 'IncompatibleVersion')] });
  t.match(planRestoreStart(observed(c, { restore: {} })), {
    condition: { status: 'False', reason: 'IncompatibleVersion', message: 'm IncompatibleVersion' },
    failure: { reason: 'IncompatibleVersion' },
  });
  t.equal(planRestoreStart(observed(c, { restore: {} })).failure?.retryAfterMs, undefined, 'not retried');
});
