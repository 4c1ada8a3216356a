import t from 'tap';
import { parseEtcdCluster, type EtcdClusterStatus } from '../../lib/api/index.js';
import type { EtcdView, Observed } from '../../lib/cluster/observed.js';
import type { Plan } from '../../lib/cluster/plan.js';
import { computeStatus } from '../../lib/cluster/status.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const id = (n: number) => n.toString(16).padStart(16, '0');

function observed(etcd: EtcdView | undefined, status?: EtcdClusterStatus): Observed {
  const { object } = parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'demo', namespace: 'ns', uid: 'u', generation: 4 },
    spec: {},
  });
  return {
    cluster: status ? { ...object, status } : object,
    now: NOW,
    pods: new Map(),
    claims: new Map(),
    reservedMembers: new Set(),
    secrets: new Map(),
    ...(etcd ? { etcd } : {}),
  };
}

function view(healthy: boolean[], versions = ['3.5.9', '3.5.9', '3.5.9']): EtcdView {
  return {
    clusterID: 'abcdef0123456789',
    leaderID: id(1),
    members: healthy.map((_, i) => ({
      id: id(i + 1),
      name: `demo-${i}`,
      peerURLs: [`https://demo-${i}.demo.ns.svc:2380`],
      clientURLs: [`https://demo-${i}.demo.ns.svc:2379`],
      isLearner: false,
    })),
    health: Object.fromEntries(healthy.map((h, i) => [id(i + 1), { healthy: h, version: versions[i] }])),
  };
}

const running: Plan = {
  nextOrdinal: 3,
  situation: { phase: 'Running' },
  resources: [],
  certificateProblems: [],
  unhealthySince: new Map(),
  requeueAfterMs: 1,
};

t.test('a healthy cluster reports Running with every member', async (t) => {
  const s = computeStatus(observed(view([true, true, true], ['3.5.9', '3.5.17', '3.5.9'])), running);
  t.equal(s.phase, 'Running');
  t.equal(s.readyReplicas, 3);
  t.equal(s.observedGeneration, 4);
  t.equal(s.clusterID, 'abcdef0123456789');
  t.equal(s.leader, 'demo-0');
  t.equal(s.selector, 'etcd.io/cluster=demo');
  t.equal(s.currentVersion, '3.5.9', 'the lowest version any member runs');
  t.same(s.members?.[0], {
    name: 'demo-0',
    id: '0000000000000001',
    peerURL: 'https://demo-0.demo.ns.svc:2380',
    clientURL: 'https://demo-0.demo.ns.svc:2379',
    isLeader: true,
    isLearner: false,
    healthy: true,
    version: '3.5.9',
  });
  t.match(s.conditions, [
    { type: 'Available', status: 'True', reason: 'QuorumHealthy', lastTransitionTime: NOW.toISOString() },
    { type: 'Progressing', status: 'False', reason: 'Settled' },
    { type: 'Degraded', status: 'False' },
  ]);
});

t.test('conditions keep their transition time while unchanged, and move it when they flip', async (t) => {
  const earlier = '2026-11-26T10:00:00Z';
  const previous: EtcdClusterStatus = {
    conditions: [
      {
        type: 'Available',
        status: 'True',
        reason: 'QuorumHealthy',
        message: '',
        lastTransitionTime: earlier,
      },
      {
        type: 'Degraded',
        status: 'False',
        reason: 'AllMembersHealthy',
        message: '',
        lastTransitionTime: earlier,
      },
    ],
  };
  const s = computeStatus(observed(view([true, true, false]), previous), running);
  const byType = Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
  t.equal(byType.Available?.lastTransitionTime, earlier);
  t.equal(byType.Degraded?.status, 'True');
  t.equal(byType.Degraded?.lastTransitionTime, NOW.toISOString());
  t.equal(byType.Degraded?.message, '1 of 3 voting members unhealthy');
  t.equal(s.readyReplicas, 2);
});

t.test('with no member answering, the last membership is kept, unhealthy', async (t) => {
  const previous: EtcdClusterStatus = {
    clusterID: 'abcdef0123456789',
    currentVersion: '3.5.9',
    members: [{ name: 'demo-0', id: id(1), healthy: true, isLeader: true }],
  };
  const plan: Plan = {
    situation: { phase: 'Recovering', reason: 'QuorumLost', message: 'waiting' },
    resources: [],
    certificateProblems: [],
    nextOrdinal: 3,
    unhealthySince: new Map([['demo-0', '2026-11-26T11:00:00Z']]),
    requeueAfterMs: 1,
  };
  const s = computeStatus(observed(undefined, previous), plan);
  t.equal(s.phase, 'Recovering');
  t.equal(s.clusterID, 'abcdef0123456789');
  t.same(s.members, [
    { name: 'demo-0', id: id(1), healthy: false, isLeader: false, unhealthySince: '2026-11-26T11:00:00Z' },
  ]);
  t.match(s.conditions, [
    { type: 'Available', status: 'False', reason: 'QuorumLost' },
    { type: 'Progressing', status: 'True', reason: 'QuorumLost' },
    { type: 'Degraded', status: 'True', reason: 'QuorumLost' },
  ]);
});

t.test('Failed says what was lost in the Degraded condition', async (t) => {
  const plan: Plan = {
    situation: {
      phase: 'Failed',
      reason: 'QuorumLostPermanently',
      message: '2 of 3 voting members lost their data',
    },
    resources: [],
    certificateProblems: [],
    nextOrdinal: 3,
    unhealthySince: new Map(),
    requeueAfterMs: 1,
  };
  const s = computeStatus(observed(undefined), plan);
  t.equal(s.phase, 'Failed');
  t.match(
    s.conditions?.find((c) => c.type === 'Degraded'),
    {
      status: 'True',
      reason: 'QuorumLostPermanently',
      message: '2 of 3 voting members lost their data',
    },
  );
});
