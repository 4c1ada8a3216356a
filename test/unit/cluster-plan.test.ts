import type { PersistentVolumeClaim, Pod } from '../../lib/kube/resources.js';
import t from 'tap';
import { parseEtcdCluster, type EtcdCluster, type EtcdClusterStatus } from '../../lib/api/index.js';
import { clusterNames, peerURL } from '../../lib/cluster/naming.js';
import type { EtcdMember, EtcdView, Observed } from '../../lib/cluster/observed.js';
import { plan, REQUEUE, type Plan } from '../../lib/cluster/plan.js';
import {
  DEFAULT_AGENT_IMAGE,
  initialClusterFlag,
  memberClaim,
  memberPod,
} from '../../lib/cluster/resources.js';
import { observedCluster } from '../helpers/observed.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const CONFIG = { replaceUnhealthyAfterMs: 60_000 };

function cluster(
  spec: Record<string, unknown> = {},
  status?: EtcdClusterStatus,
  extraMeta = {},
): EtcdCluster {
  const { object } = parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'demo', namespace: 'ns', uid: 'uid-1', generation: 1, ...extraMeta },
    spec,
  });
  return status ? { ...object, status } : object;
}

const names = clusterNames(cluster());
const id = (n: number) => n.toString(16).padStart(16, '0');

/** A member demo-N; `started: false` makes it a learner etcd knows only by its peer URL. */
function member(n: number, opts: { learner?: boolean; started?: boolean } = {}): EtcdMember {
  const name = `demo-${n}`;
  return {
    id: id(n + 1),
    name: opts.started === false ? '' : name,
    peerURLs: [peerURL(names, name, true)],
    clientURLs: opts.started === false ? [] : [`https://${name}.demo.ns.svc:2379`],
    isLearner: opts.learner ?? false,
  };
}

function view(members: EtcdMember[], opts: { leader?: number; unhealthy?: number[] } = {}): EtcdView {
  return {
    clusterID: 'abcdef0123456789',
    members,
    leaderID: id((opts.leader ?? 0) + 1),
    health: Object.fromEntries(
      members.map((m) => [
        m.id,
        { healthy: !(opts.unhealthy ?? []).some((n) => id(n + 1) === m.id), version: '3.5.9' },
      ]),
    ),
  };
}

/** Pods and claims for the members named, as the operator would have made them. */
function objects(
  c: EtcdCluster,
  ordinals: number[],
): { pods: Map<string, Pod>; claims: Map<string, PersistentVolumeClaim> } {
  const all = ordinals.map((n) => `demo-${n}`);
  const start = { initialCluster: initialClusterFlag(names, all, true), state: 'existing' as const };
  return {
    pods: new Map(all.map((m) => [m, { ...memberPod(c, names, m, start), status: { podIP: '10.0.0.1' } }])),
    claims: new Map(all.map((m) => [m, memberClaim(c, names, m)])),
  };
}

const observed = (c: EtcdCluster, parts: Partial<Observed> = {}): Observed => observedCluster(c, NOW, parts);

const kinds = (p: Plan) =>
  p.resources.map(
    (r) => `${r.kind} ${'pod' in r ? r.pod.metadata?.name : 'claim' in r ? r.claim.metadata?.name : r.name}`,
  );
const argOf = (pod: Pod, flag: string) =>
  pod.spec?.containers[0]?.args?.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);

t.test('a new cluster starts all its members together from a static initial cluster', async (t) => {
  const p = plan(observed(cluster()), CONFIG);
  t.equal(p.situation.phase, 'Creating');
  t.same(kinds(p), [
    'CreateClaim data-demo-0',
    'CreatePod demo-0',
    'CreateClaim data-demo-1',
    'CreatePod demo-1',
    'CreateClaim data-demo-2',
    'CreatePod demo-2',
  ]);
  t.equal(p.membership, undefined);
  const pod = p.resources.find((r) => r.kind === 'CreatePod')!;
  if (pod.kind !== 'CreatePod') throw new Error('unreachable');
  t.equal(argOf(pod.pod, 'initial-cluster-state'), 'new');
  t.equal(
    argOf(pod.pod, 'initial-cluster'),
    'demo-0=https://demo-0.demo.ns.svc:2380,demo-1=https://demo-1.demo.ns.svc:2380,demo-2=https://demo-2.demo.ns.svc:2380',
  );
  t.equal(p.requeueAfterMs, REQUEUE.busy);
});

t.test(
  'an interrupted bootstrap resumes with the set it started with, whatever the size says now',
  async (t) => {
    const first = plan(observed(cluster({ size: 3 })), CONFIG);
    const pod0 = first.resources.find((r) => r.kind === 'CreatePod')!;
    const claim0 = first.resources.find((r) => r.kind === 'CreateClaim')!;
    if (pod0.kind !== 'CreatePod' || claim0.kind !== 'CreateClaim') throw new Error('unreachable');
    // The operator died after creating demo-0; meanwhile the user asked for 5.
    const resumed = plan(
      observed(cluster({ size: 5 }), {
        pods: new Map([['demo-0', pod0.pod]]),
        claims: new Map([['demo-0', claim0.claim]]),
      }),
      CONFIG,
    );
    t.same(kinds(resumed), [
      'CreateClaim data-demo-1',
      'CreatePod demo-1',
      'CreateClaim data-demo-2',
      'CreatePod demo-2',
    ]);
    const pod1 = resumed.resources.find((r) => r.kind === 'CreatePod')!;
    if (pod1.kind !== 'CreatePod') throw new Error('unreachable');
    t.equal(
      argOf(pod1.pod, 'initial-cluster'),
      argOf(pod0.pod, 'initial-cluster'),
      'the same initial cluster',
    );
  },
);

t.test('a healthy cluster of the right size is left alone', async (t) => {
  const c = cluster();
  const p = plan(
    observed(c, { ...objects(c, [0, 1, 2]), etcd: view([member(0), member(1), member(2)]) }),
    CONFIG,
  );
  t.same(p.situation, { phase: 'Running' });
  t.same(p.resources, []);
  t.equal(p.membership, undefined);
  t.equal(p.requeueAfterMs, REQUEUE.steady);
});

t.test('scale up adds one learner at a time and creates its pod to join the running cluster', async (t) => {
  const c = cluster({ size: 5 });
  const p = plan(
    observed(c, { ...objects(c, [0, 1, 2]), etcd: view([member(0), member(1), member(2)]) }),
    CONFIG,
  );
  t.equal(p.situation.phase, 'Scaling');
  t.match(p.membership, { kind: 'AddLearner', member: 'demo-3', peerURL: 'https://demo-3.demo.ns.svc:2380' });
  if (p.membership?.kind !== 'AddLearner') throw new Error('unreachable');
  const pod = p.membership.then.find((r) => r.kind === 'CreatePod');
  if (pod?.kind !== 'CreatePod') throw new Error('no pod for the learner');
  t.equal(argOf(pod.pod, 'initial-cluster-state'), 'existing');
  t.match(argOf(pod.pod, 'initial-cluster'), /demo-3=https:\/\/demo-3\.demo\.ns\.svc:2380$/);
  t.match(
    pod.pod.spec?.initContainers,
    [{ name: 'await-peers', image: DEFAULT_AGENT_IMAGE }],
    'it waits for the members to accept its peer certificate',
  );
  t.same(
    p.membership.then.map((r) => r.kind),
    ['CreateClaim', 'CreatePod'],
  );
});

t.test(
  'a learner whose pod was never created (operator killed after member add) gets it, and is not added twice',
  async (t) => {
    const c = cluster({ size: 4 });
    const etcd = view([member(0), member(1), member(2), member(3, { learner: true, started: false })]);
    const p = plan(observed(c, { ...objects(c, [0, 1, 2]), etcd }), CONFIG);
    t.same(kinds(p), ['CreateClaim data-demo-3', 'CreatePod demo-3']);
    t.equal(p.membership, undefined, 'no second member add, no promotion before it starts');
    t.equal(p.situation.phase, 'Scaling');
  },
);

t.test('a started learner is promoted', async (t) => {
  const c = cluster({ size: 4 });
  const etcd = view([member(0), member(1), member(2), member(3, { learner: true })]);
  const p = plan(observed(c, { ...objects(c, [0, 1, 2, 3]), etcd }), CONFIG);
  t.same(p.membership, { kind: 'Promote', member: 'demo-3', id: id(4) });
});

t.test('scale down removes the highest ordinal, numerically, and never the leader first', async (t) => {
  const c = cluster({ size: 3 });
  const ordinals = [0, 1, 2, 9, 10];
  const members = ordinals.map((n) => member(n));
  const p = plan(observed(c, { ...objects(c, ordinals), etcd: view(members) }), CONFIG);
  t.same(p.membership, { kind: 'Remove', member: 'demo-10', id: id(11), reason: 'ScaleDown' });

  const leaderLast = plan(
    observed(c, { ...objects(c, ordinals), etcd: view(members, { leader: 10 }) }),
    CONFIG,
  );
  t.same(leaderLast.membership, {
    kind: 'MoveLeader',
    fromId: id(11),
    toId: id(1),
    from: 'demo-10',
    to: 'demo-0',
  });
});

t.test('scale down prefers a learner, then an unhealthy member', async (t) => {
  const c = cluster({ size: 3 });
  const withLearner = plan(
    observed(c, {
      ...objects(c, [0, 1, 2, 3]),
      etcd: view([member(0), member(1), member(2), member(3, { learner: true })]),
    }),
    CONFIG,
  );
  t.match(withLearner.membership, { kind: 'Remove', member: 'demo-3' });
  const withSick = plan(
    observed(c, {
      ...objects(c, [0, 1, 2, 3, 4]),
      etcd: view(
        [0, 1, 2, 3, 4].map((n) => member(n)),
        { unhealthy: [1] },
      ),
    }),
    CONFIG,
  );
  t.match(withSick.membership, { kind: 'Remove', member: 'demo-1', reason: 'ScaleDown' });
});

t.test('no removal that would leave the voters without a healthy majority', async (t) => {
  const c = cluster({ size: 2 });
  // 3 voters, demo-1 unhealthy: removing healthy demo-2 leaves 1 healthy of 2 voters — below quorum.
  const p = plan(
    observed(c, {
      ...objects(c, [0, 1, 2]),
      etcd: view([member(0), member(1), member(2)], { unhealthy: [1, 2] }),
    }),
    CONFIG,
  );
  t.equal(p.membership, undefined);
  t.equal(p.situation.phase, 'Recovering');
});

t.test('a deleted pod is recreated with the same identity over its claim', async (t) => {
  const c = cluster();
  const { pods, claims } = objects(c, [0, 1, 2]);
  pods.delete('demo-1');
  const p = plan(
    observed(c, { pods, claims, etcd: view([member(0), member(1), member(2)], { unhealthy: [1] }) }),
    CONFIG,
  );
  t.same(kinds(p), ['CreatePod demo-1']);
  t.equal(p.membership, undefined);
  const pod = p.resources[0]!;
  if (pod.kind !== 'CreatePod') throw new Error('unreachable');
  t.equal(pod.reason, 'Restore');
  t.equal(argOf(pod.pod, 'initial-cluster-state'), 'existing', 'never new after the bootstrap');
  t.notOk(
    pod.pod.spec?.initContainers,
    'a member over its data does not wait for the others: after a full outage they would wait for each other',
  );
});

t.test('a member whose data is gone is removed, then replaced by a new learner', async (t) => {
  const c = cluster();
  const { pods, claims } = objects(c, [0, 1, 2]);
  pods.delete('demo-1');
  claims.delete('demo-1');
  const first = plan(
    observed(c, { pods, claims, etcd: view([member(0), member(1), member(2)], { unhealthy: [1] }) }),
    CONFIG,
  );
  t.same(first.resources, [], 'its pod is not recreated over an empty volume');
  t.same(first.membership, { kind: 'Remove', member: 'demo-1', id: id(2), reason: 'DataLost' });
  t.equal(first.situation.phase, 'Recovering');

  const second = plan(observed(c, { pods, claims, etcd: view([member(0), member(2)]) }), CONFIG);
  t.match(
    second.membership,
    { kind: 'AddLearner', member: 'demo-3' },
    'a new name: identities are never reused',
  );
});

t.test('with emptyDir storage, a member whose pod is gone has lost its data', async (t) => {
  const c = cluster({ storage: { type: 'EmptyDir' } });
  const { pods } = objects(c, [0, 1, 2]);
  pods.delete('demo-2');
  const p = plan(
    observed(c, { pods, etcd: view([member(0), member(1), member(2)], { unhealthy: [2] }) }),
    CONFIG,
  );
  t.match(p.membership, { kind: 'Remove', member: 'demo-2', reason: 'DataLost' });
});

t.test('quorum lost: pods come back, membership is left alone', async (t) => {
  const c = cluster(
    {},
    { clusterID: 'abcdef0123456789', members: [0, 1, 2].map((n) => ({ name: `demo-${n}`, id: id(n + 1) })) },
  );
  const { claims } = objects(c, [0, 1, 2]);
  const p = plan(observed(c, { claims }), CONFIG);
  t.same(kinds(p), ['CreatePod demo-0', 'CreatePod demo-1', 'CreatePod demo-2']);
  t.equal(p.membership, undefined);
  t.match(p.situation, { phase: 'Recovering', reason: 'QuorumLost' });
});

t.test('quorum lost for good yields Failed, saying what was lost', async (t) => {
  const c = cluster(
    { storage: { type: 'EmptyDir' } },
    { clusterID: 'abcdef0123456789', members: [0, 1, 2].map((n) => ({ name: `demo-${n}`, id: id(n + 1) })) },
  );
  const { pods } = objects(c, [0]);
  const p = plan(observed(c, { pods }), CONFIG);
  t.match(p.situation, {
    phase: 'Failed',
    reason: 'QuorumLostPermanently',
    message: '2 of 3 voting members lost their data (demo-1, demo-2); quorum needs 2: restore from a backup',
  });
  t.equal(p.membership, undefined);
});

t.test('a member unhealthy past the replacement delay is replaced, not before', async (t) => {
  const c = (since: string) =>
    cluster(
      {},
      {
        clusterID: 'abcdef0123456789',
        members: [0, 1, 2].map((n) => ({
          name: `demo-${n}`,
          id: id(n + 1),
          ...(n === 2 ? { unhealthySince: since } : {}),
        })),
      },
    );
  const etcd = view([member(0), member(1), member(2)], { unhealthy: [2] });
  const recent = plan(
    observed(c('2026-11-26T11:59:30Z'), { ...objects(cluster(), [0, 1, 2]), etcd }),
    CONFIG,
  );
  t.equal(recent.membership, undefined);
  t.equal(recent.unhealthySince.get('demo-2'), '2026-11-26T11:59:30Z', 'the first time seen is kept');
  const old = plan(observed(c('2026-11-26T11:58:00Z'), { ...objects(cluster(), [0, 1, 2]), etcd }), CONFIG);
  t.match(old.membership, { kind: 'Remove', member: 'demo-2', reason: 'Unhealthy' });
  const fresh = plan(observed(cluster(), { ...objects(cluster(), [0, 1, 2]), etcd }), CONFIG);
  t.equal(fresh.unhealthySince.get('demo-2'), NOW.toISOString(), 'first seen now');
  t.equal(fresh.unhealthySince.get('demo-0'), undefined);
});

t.test('leftovers of removed members go: pods, then claims per reclaim policy', async (t) => {
  for (const [policy, expected] of [
    ['Delete', 'DeleteClaim data-demo-3'],
    ['Retain', 'ReleaseClaim data-demo-3'],
  ] as const) {
    const c = cluster({ storage: { reclaimPolicy: policy } });
    const { pods, claims } = objects(c, [0, 1, 2, 3]);
    const etcd = view([member(0), member(1), member(2)]);
    t.same(kinds(plan(observed(c, { pods, claims, etcd }), CONFIG)), ['DeletePod demo-3'], policy);
    pods.delete('demo-3');
    t.same(kinds(plan(observed(c, { pods, claims, etcd }), CONFIG)), [expected], policy);
  }
});

t.test('a never-started member whose pod names an outdated membership gets a new pod', async (t) => {
  const c = cluster({ size: 4 });
  const { pods, claims } = objects(c, [0, 1, 2, 3]);
  const etcd = view([member(0), member(1), member(3, { learner: true, started: false })]);
  const p = plan(observed(c, { pods, claims, etcd }), CONFIG);
  t.ok(kinds(p).includes('DeletePod demo-3'), 'recreated with the current list');
  t.ok(kinds(p).includes('DeletePod demo-2'), 'demo-2 is gone from etcd');
});

t.test('deleting and paused clusters', async (t) => {
  const deleting = cluster({ storage: { reclaimPolicy: 'Retain' } }, undefined, {
    deletionTimestamp: '2026-11-26T11:00:00Z',
  });
  const p = plan(observed(deleting, objects(deleting, [0, 1])), CONFIG);
  t.same(p.situation, { phase: 'Deleting' });
  t.same(kinds(p), ['ReleaseClaim data-demo-0', 'ReleaseClaim data-demo-1']);
  const paused = cluster({ paused: true });
  const q = plan(observed(paused, { etcd: view([member(0)]) }), CONFIG);
  t.same(q.situation, { phase: 'Paused' });
  t.same(q.resources, []);
  t.equal(q.membership, undefined);
});

t.test(
  'certificates: a new cluster gets a CA and its three certificates before anything starts',
  async (t) => {
    const p = plan(observed(cluster()), CONFIG);
    t.equal(p.certificates?.createCA, true);
    t.same(
      p.certificates?.reissue.map((r) => [r.role, r.secretName, r.reason]),
      [
        ['peer', 'demo-peer-tls', 'Missing'],
        ['server', 'demo-server-tls', 'Missing'],
        ['client', 'demo-client-tls', 'Missing'],
      ],
    );
    t.equal(
      plan(observed(cluster({ security: { tls: { enabled: false } } })), CONFIG).certificates,
      undefined,
    );
  },
);

t.test('certificates: provided Secrets that are missing hold the bootstrap and are reported', async (t) => {
  const c = cluster({
    security: { tls: { issuer: 'Provided', secrets: { peer: 'p', server: 's', client: 'c' } } },
  });
  const p = plan(observed(c), CONFIG);
  t.match(p.situation, {
    phase: 'Creating',
    reason: 'WaitingForSecrets',
    message: 'waiting for Secrets p, s, c',
  });
  t.same(p.resources, [], 'no pod can start without its certificates');
  t.equal(p.certificates, undefined, 'the operator never writes a provided Secret');
  t.equal(p.certificateProblems.length, 3);
});

t.test('claims kept from an earlier cluster of the same name are never reused', async (t) => {
  const c = cluster();
  const fresh = plan(observed(c, { reservedMembers: new Set(['demo-0', 'demo-1']) }), CONFIG);
  t.same(
    kinds(fresh).filter((k) => k.startsWith('CreatePod')),
    ['CreatePod demo-2', 'CreatePod demo-3', 'CreatePod demo-4'],
  );
  const grow = plan(
    observed(cluster({ size: 4 }), {
      ...objects(c, [0, 1, 2]),
      reservedMembers: new Set(['demo-7']),
      etcd: view([member(0), member(1), member(2)]),
    }),
    CONFIG,
  );
  t.match(grow.membership, { kind: 'AddLearner', member: 'demo-8' });
});

t.test(
  'a claim deleted under a running member means its data is gone: no new claim, the member goes',
  async (t) => {
    const c = cluster();
    const { pods, claims } = objects(c, [0, 1, 2]);
    claims.delete('demo-1');
    const p = plan(observed(c, { pods, claims, etcd: view([member(0), member(1), member(2)]) }), CONFIG);
    t.notOk(
      kinds(p).some((k) => k.includes('demo-1')),
      'neither an empty claim nor a pod is made for demo-1',
    );
    t.same(p.membership, { kind: 'Remove', member: 'demo-1', id: id(2), reason: 'DataLost' });
  },
);

t.test(
  'status.nextOrdinal remembers names handed out, so a removed member’s name is never reused',
  async (t) => {
    t.equal(plan(observed(cluster()), CONFIG).nextOrdinal, 3, 'the bootstrap used demo-0..2');
    const c = cluster({}, { clusterID: 'abcdef0123456789', nextOrdinal: 5 });
    const p = plan(observed(c, { ...objects(c, [0, 1]), etcd: view([member(0), member(1)]) }), CONFIG);
    t.match(p.membership, { kind: 'AddLearner', member: 'demo-5' });
    t.equal(p.nextOrdinal, 5, 'not taken until etcd has it: a failed add does not burn a name');
  },
);
