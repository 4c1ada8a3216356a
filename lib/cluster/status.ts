/**
 * The EtcdCluster status a pass reports: pure, from what was observed and what the plan decided.
 * Conditions keep their lastTransitionTime while their status does not change.
 */
import type { Condition, EtcdClusterStatus, MemberStatus } from '../api/index.js';
import { withTransitions, type ConditionInput } from '../api/conditions.js';
import { compareVersions, parseVersion } from '../api/index.js';
import { byOrdinal, clientURL, clusterNames, memberFromPeerURL, peerURL, selectorString } from './naming.js';
import { quorum } from '../etcd/quorum.js';
import type { Observed } from './observed.js';
import type { Plan, Situation } from './plan.js';

export function computeStatus(o: Observed, p: Plan): EtcdClusterStatus {
  const previous = o.cluster.status ?? {};
  const names = clusterNames(o.cluster);
  const tls = o.cluster.spec.security.tls.enabled;
  const members = memberStatuses(o, p, names, tls).sort((a, b) => byOrdinal(names.cluster)(a.name, b.name));
  const voters = members.filter((m) => !m.isLearner);
  const healthyVoters = voters.filter((m) => m.healthy).length;
  const leader = members.find((m) => m.isLeader)?.name;
  const currentVersion = lowestVersion(members.map((m) => m.version));

  const status: EtcdClusterStatus = {
    phase: p.situation.phase,
    observedGeneration: o.cluster.metadata.generation ?? 0,
    readyReplicas: healthyVoters,
    selector: selectorString(names),
    nextOrdinal: p.nextOrdinal,
    members,
    conditions: conditions(o, p, voters.length, healthyVoters),
  };
  const clusterID = o.etcd?.clusterID ?? previous.clusterID;
  if (clusterID) status.clusterID = clusterID;
  const restoredFrom = p.restore?.pin ?? previous.restoredFrom;
  if (restoredFrom) status.restoredFrom = restoredFrom;
  if (leader) status.leader = leader;
  if (currentVersion ?? previous.currentVersion)
    status.currentVersion = currentVersion ?? previous.currentVersion;
  return status;
}

function memberStatuses(
  o: Observed,
  p: Plan,
  names: ReturnType<typeof clusterNames>,
  tls: boolean,
): MemberStatus[] {
  if (!o.etcd) {
    // No member answered: keep the last known membership, all of it unhealthy.
    return (o.cluster.status?.members ?? []).map((m) =>
      withSince({ ...m, healthy: false, isLeader: false }, p),
    );
  }
  return o.etcd.members.map((m) => {
    const name = m.name || memberFromPeerURL(names, m.peerURLs[0] ?? '') || m.id;
    const health = o.etcd?.health[m.id];
    return withSince(
      {
        name,
        id: m.id,
        peerURL: m.peerURLs[0] ?? peerURL(names, name, tls),
        clientURL: m.clientURLs[0] ?? clientURL(names, name, tls),
        isLeader: o.etcd?.leaderID === m.id,
        isLearner: m.isLearner,
        healthy: health?.healthy ?? false,
        ...(health?.version ? { version: health.version } : {}),
      },
      p,
    );
  });
}

function withSince(m: MemberStatus, p: Plan): MemberStatus {
  const { unhealthySince: _, ...rest } = m;
  const since = p.unhealthySince.get(m.name);
  return since === undefined ? rest : { ...rest, unhealthySince: since };
}

function lowestVersion(versions: (string | undefined)[]): string | undefined {
  const parsed = versions.filter((v): v is string => v !== undefined && parseVersion(v) !== undefined);
  return parsed.sort((a, b) => compareVersions(parseVersion(a)!, parseVersion(b)!))[0];
}

function conditions(o: Observed, p: Plan, voters: number, healthy: number): Condition[] {
  const computed = [available(voters, healthy), progressing(p.situation), degraded(p, voters, healthy)];
  if (p.restore) computed.push(p.restore.condition);
  return withTransitions(o.cluster.status?.conditions, computed, o.now, o.cluster.metadata.generation ?? 0);
}

/** Available: a healthy majority of voters, so the cluster serves reads and writes. */
function available(voters: number, healthy: number): ConditionInput {
  const message = `${healthy} of ${voters} voting members healthy`;
  if (voters > 0 && healthy >= quorum(voters)) {
    return { type: 'Available', status: 'True', reason: 'QuorumHealthy', message };
  }
  return { type: 'Available', status: 'False', reason: voters === 0 ? 'NoMembers' : 'QuorumLost', message };
}

/** Progressing: the operator is changing the cluster towards its spec. */
function progressing(s: Situation): ConditionInput {
  switch (s.phase) {
    case 'Creating':
    case 'Restoring':
    case 'Recovering':
      return { type: 'Progressing', status: 'True', reason: s.reason, message: s.message };
    case 'Scaling':
      return { type: 'Progressing', status: 'True', reason: 'Scaling', message: s.message };
    case 'Running':
      return {
        type: 'Progressing',
        status: 'False',
        reason: 'Settled',
        message: 'the cluster matches its spec',
      };
    default:
      return { type: 'Progressing', status: 'False', reason: s.phase, message: `phase ${s.phase}` };
  }
}

/** Degraded: something is wrong that the spec did not ask for. */
function degraded(p: Plan, voters: number, healthy: number): ConditionInput {
  const s = p.situation;
  if (s.phase === 'Failed' || s.phase === 'Recovering') {
    return { type: 'Degraded', status: 'True', reason: s.reason, message: s.message };
  }
  if (healthy < voters) {
    const message = `${voters - healthy} of ${voters} voting members unhealthy`;
    return { type: 'Degraded', status: 'True', reason: 'MembersUnhealthy', message };
  }
  if (p.certificateProblems.length > 0) {
    return {
      type: 'Degraded',
      status: 'True',
      reason: 'CertificatesInvalid',
      message: p.certificateProblems.join('; '),
    };
  }
  return {
    type: 'Degraded',
    status: 'False',
    reason: 'AllMembersHealthy',
    message: 'every member is healthy',
  };
}
