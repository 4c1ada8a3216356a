/**
 * The EtcdCluster planner: (spec, observed) → what to do now. Pure — every input is an argument —
 * so that each rule is tested by tables.
 *
 * Rules of safety:
 * - At most one membership change per pass; the next pass re-reads the world.
 * - No change ever takes the voting members below quorum: a removal must leave a healthy majority.
 * - A member's data is never conjured: a pod is recreated only over the claim that holds its data;
 *   a member whose data is gone is removed and replaced by a new learner.
 * - After the first bootstrap, pods only ever start with initial-cluster-state=existing, so a member
 *   with an empty data directory can never found a second cluster.
 */
import type { PersistentVolumeClaim, Pod } from '../kube/resources.js';
import type { EtcdCluster, MemberStatus } from '../api/index.js';
import {
  ANNOTATION_INITIAL_CLUSTER,
  byOrdinal,
  claimName,
  clusterNames,
  memberFromPeerURL,
  memberName,
  memberOrdinal,
  peerURL,
  type ClusterNames,
} from './naming.js';
import { quorum } from '../etcd/quorum.js';
import { planClusterCertificates, planRenewal, type Reissue } from '../tls/index.js';
import type { EtcdMember, Observed } from './observed.js';
import {
  DEFAULT_AGENT_IMAGE,
  initialClusterFlag,
  memberClaim,
  memberPod,
  type MemberRestore,
  type MemberStart,
} from './resources.js';
import type { RestoreFailureReason } from '../backup/restore-source.js';
import { planRestoreDone, planRestoreStart, type RestorePlan } from './restore.js';

export interface PlanConfig {
  /** A started member unhealthy this long is replaced, while quorum holds. */
  replaceUnhealthyAfterMs: number;
  /** The image whose restore agent makes restored members' data (this project's; DEFAULT_AGENT_IMAGE). */
  agentImage?: string;
}

export type ResourceChange =
  | { kind: 'CreateClaim'; claim: PersistentVolumeClaim }
  | { kind: 'CreatePod'; pod: Pod; reason: 'Bootstrap' | 'Join' | 'Restore' }
  | { kind: 'DeletePod'; name: string; reason: string }
  | { kind: 'DeleteClaim'; name: string }
  /** Retain: the claim stays, no longer owned by the cluster. */
  | { kind: 'ReleaseClaim'; name: string };

export type MembershipChange =
  /** `then`: the claim and pod of the new member, created once etcd has accepted it. */
  | { kind: 'AddLearner'; member: string; peerURL: string; then: ResourceChange[] }
  | { kind: 'Promote'; member: string; id: string }
  | { kind: 'MoveLeader'; fromId: string; toId: string; from: string; to: string }
  | { kind: 'Remove'; member: string; id: string; reason: 'ScaleDown' | 'DataLost' | 'Unhealthy' };

/** Certificates to make before anything else this pass (issuer Operator only). */
export interface CertificateWork {
  createCA: boolean;
  reissue: Reissue[];
}

export type Situation =
  | { phase: 'Deleting' }
  | { phase: 'Paused' }
  | { phase: 'Creating'; reason: 'Bootstrapping' | 'WaitingForSecrets'; message: string }
  | { phase: 'Restoring'; reason: 'RestoringMembers'; message: string }
  | { phase: 'Running' }
  | { phase: 'Scaling'; message: string }
  | { phase: 'Recovering'; reason: 'QuorumLost' | 'MemberLost' | 'MembersUnreachable'; message: string }
  | { phase: 'Failed'; reason: 'QuorumLostPermanently' | RestoreFailureReason; message: string };

export interface Plan {
  situation: Situation;
  certificates?: CertificateWork;
  /** Certificate problems the operator cannot fix itself (a provided Secret, an expiring CA). */
  certificateProblems: string[];
  resources: ResourceChange[];
  membership?: MembershipChange;
  /** status.nextOrdinal after this pass: past every member name this plan uses. */
  nextOrdinal: number;
  /** Members whose health changed, with the time they were first seen unhealthy (undefined: healthy). */
  unhealthySince: Map<string, string | undefined>;
  /** For a cluster created from a backup: the pinned snapshot, the Restored condition, an Event. */
  restore?: RestorePlan;
  requeueAfterMs: number;
}

/** Requeue delays: quick while something is moving, a health check interval when steady. */
export const REQUEUE = { busy: 500, waiting: 2_000, steady: 10_000 } as const;

/** A member as the planner reasons about it, whichever source the membership came from. */
interface Member {
  name: string;
  id?: string;
  isLearner: boolean;
  /** Has run at least once: etcd knows its name. A member that never started has no data to lose. */
  started: boolean;
  healthy: boolean;
  isLeader: boolean;
}

/** Everything a plan says but for its certificates, which plan() adds to whichever path it took. */
type CorePlan = Omit<Plan, 'certificates' | 'certificateProblems' | 'nextOrdinal' | 'restore'>;

export function plan(observed: Observed, config: PlanConfig): Plan {
  const { cluster } = observed;
  const names = clusterNames(cluster);
  const base = {
    resources: [],
    certificateProblems: [],
    unhealthySince: new Map<string, string | undefined>(),
    nextOrdinal: cluster.status?.nextOrdinal ?? 0,
  };

  if (cluster.metadata.deletionTimestamp) {
    return {
      ...base,
      situation: { phase: 'Deleting' },
      resources: releaseOrDeleteAllClaims(cluster, observed),
      requeueAfterMs: REQUEUE.waiting,
    };
  }
  if (cluster.spec.paused) return { ...base, situation: { phase: 'Paused' }, requeueAfterMs: REQUEUE.steady };

  const tls = planTls(observed, names);
  const members = knownMembers(observed, names);
  const restore = cluster.spec.bootstrap?.restore
    ? members !== undefined
      ? planRestoreDone(cluster)
      : planRestoreStart(observed)
    : undefined;
  let core: CorePlan;
  if (members !== undefined) {
    const unhealthySince = trackHealth(observed, members);
    core = { ...planRunning(observed, names, members, unhealthySince, config), unhealthySince };
  } else if (restore?.failure) {
    core = restoreFailed(restore.failure);
  } else if (tls.missingProvided.length > 0) {
    core = waitForSecrets(tls.missingProvided);
  } else {
    const from = restore?.members;
    core = planBootstrap(observed, names, from && { from, image: agentImage(config) });
  }
  const renewIn = tls.nextRenewal
    ? Math.max(0, tls.nextRenewal.getTime() - observed.now.getTime())
    : Infinity;
  return {
    ...core,
    ...(restore ? { restore } : {}),
    nextOrdinal: ordinalAfter(observed, names, members ?? [], core),
    ...(tls.work ? { certificates: tls.work } : {}),
    certificateProblems: tls.problems,
    requeueAfterMs: Math.min(core.requeueAfterMs, renewIn),
  };
}

interface TlsDecision {
  work?: CertificateWork;
  problems: string[];
  /** Provided Secrets that do not exist: pods cannot start without them. */
  missingProvided: string[];
  nextRenewal?: Date;
}

/** What the cluster's certificates need: made or renewed by the operator, or reported. */
function planTls(o: Observed, names: ClusterNames): TlsDecision {
  const certs = planClusterCertificates(o.cluster, {
    name: names.cluster,
    namespace: names.namespace,
    peerServiceName: names.peerService,
    clientServiceName: names.clientService,
  });
  if (!certs) return { problems: [], missingProvided: [] };
  const renewal = planRenewal(certs, [...o.secrets.values()], o.now);
  const next = renewal.nextRenewal ? { nextRenewal: renewal.nextRenewal } : {};
  if (certs.issuer === 'Provided') {
    return {
      problems: renewal.reissue.map((r) => r.message),
      missingProvided: renewal.reissue.filter((r) => r.reason === 'Missing').map((r) => r.secretName),
      ...next,
    };
  }
  const caStatus = renewal.ca?.status;
  // A malformed or expiring CA cannot be fixed by reissuing leaves: rotation is a separate procedure.
  if (caStatus === 'Malformed' || caStatus === 'Expiring') {
    return { problems: [renewal.ca?.message ?? 'the CA is unusable'], missingProvided: [], ...next };
  }
  const createCA = caStatus === 'Missing';
  const work = createCA || renewal.reissue.length > 0 ? { work: { createCA, reissue: renewal.reissue } } : {};
  return { ...work, problems: [], missingProvided: [], ...next };
}

/** A cluster whose backup cannot be restored: no member is created. */
function restoreFailed(failure: NonNullable<RestorePlan['failure']>): CorePlan {
  return {
    situation: { phase: 'Failed', reason: failure.reason, message: failure.message },
    resources: [],
    unhealthySince: new Map(),
    requeueAfterMs: failure.retryAfterMs ?? REQUEUE.steady * 30,
  };
}

function waitForSecrets(missing: string[]): CorePlan {
  return {
    situation: {
      phase: 'Creating',
      reason: 'WaitingForSecrets',
      message: `waiting for Secrets ${missing.join(', ')}`,
    },
    resources: [],
    unhealthySince: new Map(),
    requeueAfterMs: REQUEUE.waiting,
  };
}

/**
 * The membership: etcd's own list when a member answered; else the last one recorded in status
 * (the cluster was bootstrapped but no member answers now); undefined before the first bootstrap.
 */
function knownMembers(o: Observed, names: ClusterNames): Member[] | undefined {
  if (o.etcd) {
    return o.etcd.members.map((m) => fromEtcd(m, o, names));
  }
  if (!o.cluster.status?.clusterID) return undefined;
  return (o.cluster.status.members ?? []).map((m: MemberStatus) => ({
    name: m.name,
    ...(m.id !== undefined ? { id: m.id } : {}),
    isLearner: m.isLearner ?? false,
    started: true,
    healthy: false,
    isLeader: false,
  }));
}

function fromEtcd(m: EtcdMember, o: Observed, names: ClusterNames): Member {
  const health = o.etcd?.health[m.id];
  return {
    name: m.name || memberFromPeerURL(names, m.peerURLs[0] ?? '') || m.id,
    id: m.id,
    isLearner: m.isLearner,
    started: m.name !== '',
    healthy: health?.healthy ?? false,
    isLeader: o.etcd?.leaderID === m.id,
  };
}

// --- before the first bootstrap ---------------------------------------------------------------

/**
 * A new cluster's members start together from a static initial cluster: the fastest way to a quorum,
 * and safe when interrupted, because the set is written on every pod and claim created for it and
 * re-read from them — a pass after a crash re-creates exactly the missing ones. Restored from a
 * backup, each of them first makes its data directory from the same snapshot (`restore`).
 */
function planBootstrap(o: Observed, names: ClusterNames, restore?: MemberRestore): CorePlan {
  const tls = o.cluster.spec.security.tls.enabled;
  const recorded = [...o.pods.values(), ...o.claims.values()]
    .map((obj) => obj.metadata?.annotations?.[ANNOTATION_INITIAL_CLUSTER])
    .find((v) => v !== undefined);
  const first = nextOrdinal(o, names, []);
  const initialCluster =
    recorded ??
    initialClusterFlag(
      names,
      Array.from({ length: o.cluster.spec.size }, (_, i) => memberName(names.cluster, first + i)),
      tls,
    );
  const bootstrapMembers = initialCluster.split(',').map((pair) => pair.slice(0, pair.indexOf('=')));
  const start: MemberStart = { initialCluster, state: 'new' };

  const resources: ResourceChange[] = [];
  for (const member of bootstrapMembers) {
    resources.push(...memberResources(o, names, member, start, 'Bootstrap', restore));
  }
  const ready = bootstrapMembers.filter((m) => o.pods.get(m)?.status?.podIP).length;
  const counts = `${bootstrapMembers.length} members (${ready} running)`;
  return {
    situation: restore
      ? {
          phase: 'Restoring',
          reason: 'RestoringMembers',
          message: `restoring ${counts} from ${restore.from.snapshot}`,
        }
      : { phase: 'Creating', reason: 'Bootstrapping', message: `starting ${counts}` },
    resources,
    unhealthySince: new Map(),
    requeueAfterMs: REQUEUE.busy,
  };
}

function agentImage(config: PlanConfig): string {
  return config.agentImage ?? DEFAULT_AGENT_IMAGE;
}

/** The claim (when persistent and absent) and pod (when absent) for a member. */
function memberResources(
  o: Observed,
  names: ClusterNames,
  member: string,
  start: MemberStart,
  reason: 'Bootstrap' | 'Join' | 'Restore',
  restore?: MemberRestore,
  agentImage?: string,
): ResourceChange[] {
  const out: ResourceChange[] = [];
  const persistent = o.cluster.spec.storage.type === 'PersistentVolumeClaim';
  if (persistent && !o.claims.has(member)) {
    out.push({
      kind: 'CreateClaim',
      claim: memberClaim(o.cluster, names, member, start.state === 'new' ? start.initialCluster : undefined),
    });
  }
  if (!o.pods.has(member)) {
    // Only a member without data waits for the others to accept it: members restarted over their
    // data would all wait for each other after a full outage.
    const pod = memberPod(
      o.cluster,
      names,
      member,
      start,
      restore,
      reason === 'Join' ? agentImage : undefined,
    );
    out.push({ kind: 'CreatePod', pod, reason });
  }
  return out;
}

// --- a bootstrapped cluster -------------------------------------------------------------------

function trackHealth(o: Observed, members: Member[]): Map<string, string | undefined> {
  const previous = new Map((o.cluster.status?.members ?? []).map((m) => [m.name, m.unhealthySince]));
  return new Map(
    members.map((m) => [m.name, m.healthy ? undefined : (previous.get(m.name) ?? o.now.toISOString())]),
  );
}

function planRunning(
  o: Observed,
  names: ClusterNames,
  members: Member[],
  unhealthySince: Map<string, string | undefined>,
  config: PlanConfig,
): Omit<CorePlan, 'unhealthySince'> {
  const { spec } = o.cluster;
  const tls = spec.security.tls.enabled;
  const persistent = spec.storage.type === 'PersistentVolumeClaim';
  const voters = members.filter((m) => !m.isLearner);
  const healthyVoters = voters.filter((m) => m.healthy);
  const byName = new Map(members.map((m) => [m.name, m]));

  // A started member's data lives in its claim (or, with emptyDir, in its pod): once that is gone or
  // going, the data is gone, even while the pod still runs over it. A claim is never made anew for it.
  const dataLost = (m: Member) =>
    m.started &&
    (persistent ? !o.claims.has(m.name) || isDeleting(o.claims.get(m.name)) : !o.pods.has(m.name));

  // Pods: one per member whose data is there (or who never started and so has none to lose).
  const joinStart: MemberStart = {
    initialCluster: initialClusterFlag(names, members.map((m) => m.name).sort(byOrdinal(names.cluster)), tls),
    state: 'existing',
  };
  const resources: ResourceChange[] = [];
  for (const m of members) {
    if (!dataLost(m))
      resources.push(
        ...memberResources(
          o,
          names,
          m.name,
          joinStart,
          m.started ? 'Restore' : 'Join',
          undefined,
          agentImage(config),
        ),
      );
    // etcd refuses to join with an --initial-cluster that differs from the membership; a member that
    // never started has no data, so its pod is simply made again with the current list.
    const pod = o.pods.get(m.name);
    if (!m.started && pod && !isDeleting(pod) && initialClusterOf(pod) !== joinStart.initialCluster) {
      resources.push({ kind: 'DeletePod', name: m.name, reason: 'the membership changed before it started' });
    }
  }
  // Leftovers of removed members: pods first, then their claims per reclaim policy. Only with a
  // membership etcd itself reported, never from the status' memory.
  if (o.etcd) {
    for (const name of o.pods.keys()) {
      if (!byName.has(name)) resources.push({ kind: 'DeletePod', name, reason: 'no longer a member' });
    }
    for (const name of o.claims.keys()) {
      if (!byName.has(name) && !o.pods.has(name)) resources.push(claimDisposal(o.cluster, name));
    }
  }

  const choice = chooseMembershipChange(o, names, members, {
    voters,
    healthyVoters,
    dataLost,
    unhealthySince,
    config,
  });
  const busy = resources.length > 0 || choice.membership !== undefined;
  return {
    situation: choice.situation,
    resources,
    ...(choice.membership ? { membership: choice.membership } : {}),
    requeueAfterMs: busy || choice.situation.phase !== 'Running' ? REQUEUE.busy : REQUEUE.steady,
  };
}

interface Counts {
  voters: Member[];
  healthyVoters: Member[];
  dataLost: (m: Member) => boolean;
  unhealthySince: Map<string, string | undefined>;
  config: PlanConfig;
}

function chooseMembershipChange(
  o: Observed,
  names: ClusterNames,
  members: Member[],
  c: Counts,
): { situation: Situation; membership?: MembershipChange } {
  const size = o.cluster.spec.size;
  const { voters, healthyVoters } = c;
  const tls = o.cluster.spec.security.tls.enabled;

  // Quorum: nothing may change membership without it.
  if (healthyVoters.length < quorum(voters.length)) {
    const lost = voters.filter(c.dataLost);
    const recoverable = voters.length - lost.length;
    if (recoverable < quorum(voters.length)) {
      return {
        situation: {
          phase: 'Failed',
          reason: 'QuorumLostPermanently',
          message: `${lost.length} of ${voters.length} voting members lost their data (${lost.map((m) => m.name).join(', ')}); quorum needs ${quorum(voters.length)}: restore from a backup`,
        },
      };
    }
    return {
      situation: {
        phase: 'Recovering',
        reason: 'QuorumLost',
        message: `${healthyVoters.length} of ${voters.length} voting members healthy; quorum needs ${quorum(voters.length)}: waiting for members to return`,
      },
    };
  }

  /** Removing `m` leaves a healthy majority of the remaining voters. */
  const canRemove = (m: Member) => {
    if (m.isLearner) return true;
    const healthyAfter = healthyVoters.length - (m.healthy ? 1 : 0);
    return healthyAfter >= quorum(voters.length - 1);
  };

  // Members whose data is gone, then members unhealthy for too long, are replaced.
  const lost = members.find(c.dataLost);
  if (lost?.id !== undefined) {
    if (!canRemove(lost)) {
      return {
        situation: {
          phase: 'Recovering',
          reason: 'MemberLost',
          message: `${lost.name} lost its data; removing it now would lose quorum`,
        },
      };
    }
    return {
      situation: {
        phase: 'Recovering',
        reason: 'MemberLost',
        message: `replacing ${lost.name}: its data is gone`,
      },
      membership: { kind: 'Remove', member: lost.name, id: lost.id, reason: 'DataLost' },
    };
  }
  const stale = members.find((m) => {
    const since = c.unhealthySince.get(m.name);
    return (
      m.started &&
      since !== undefined &&
      o.now.getTime() - Date.parse(since) >= c.config.replaceUnhealthyAfterMs
    );
  });
  if (stale?.id !== undefined && canRemove(stale) && !stale.isLeader) {
    return {
      situation: {
        phase: 'Recovering',
        reason: 'MembersUnreachable',
        message: `replacing ${stale.name}: unhealthy since ${c.unhealthySince.get(stale.name)}`,
      },
      membership: { kind: 'Remove', member: stale.name, id: stale.id, reason: 'Unhealthy' },
    };
  }

  // A learner joins the voters once it has caught up (the executor retries until then).
  const learner = members.find((m) => m.isLearner);
  const total = members.length;
  if (learner?.id !== undefined && learner.started && total <= size) {
    return {
      situation: { phase: 'Scaling', message: `promoting ${learner.name}` },
      membership: { kind: 'Promote', member: learner.name, id: learner.id },
    };
  }

  if (learner && total <= size) {
    return { situation: { phase: 'Scaling', message: `waiting for ${learner.name} to start` } };
  }
  if (total < size) {
    if (healthyVoters.length < voters.length) {
      return { situation: unreachable(voters, (down) => `waiting for ${down} before adding a member`) };
    }
    const next = memberName(names.cluster, nextOrdinal(o, names, members));
    const start: MemberStart = {
      initialCluster: initialClusterFlag(
        names,
        [...members.map((m) => m.name), next].sort(byOrdinal(names.cluster)),
        tls,
      ),
      state: 'existing',
    };
    return {
      situation: { phase: 'Scaling', message: `adding ${next} (${total} of ${size} members)` },
      membership: {
        kind: 'AddLearner',
        member: next,
        peerURL: peerURL(names, next, tls),
        then: memberResources(o, names, next, start, 'Join', undefined, agentImage(c.config)),
      },
    };
  }

  if (total > size) {
    const victim = scaleDownVictim(names, members);
    if (!canRemove(victim)) {
      return {
        situation: { phase: 'Scaling', message: `waiting: removing ${victim.name} now would lose quorum` },
      };
    }
    if (victim.isLeader) {
      const successor = healthyVoters
        .filter((m) => m !== victim)
        .sort((a, b) => byOrdinal(names.cluster)(a.name, b.name))[0];
      if (successor?.id === undefined || victim.id === undefined) {
        return {
          situation: {
            phase: 'Scaling',
            message: `waiting for a healthy member to take leadership from ${victim.name}`,
          },
        };
      }
      return {
        situation: {
          phase: 'Scaling',
          message: `moving leadership from ${victim.name} to ${successor.name} before removing it`,
        },
        membership: {
          kind: 'MoveLeader',
          fromId: victim.id,
          toId: successor.id,
          from: victim.name,
          to: successor.name,
        },
      };
    }
    return {
      situation: { phase: 'Scaling', message: `removing ${victim.name} (${total} of ${size} members)` },
      membership: { kind: 'Remove', member: victim.name, id: victim.id ?? '', reason: 'ScaleDown' },
    };
  }

  if (healthyVoters.length < voters.length) {
    return { situation: unreachable(voters, (down) => `${down} unhealthy`) };
  }
  return { situation: { phase: 'Running' } };
}

/** Recovering, naming the voters that do not answer. */
function unreachable(voters: Member[], message: (down: string) => string): Situation {
  const down = voters.filter((m) => !m.healthy).map((m) => m.name);
  return { phase: 'Recovering', reason: 'MembersUnreachable', message: message(down.join(', ')) };
}

/** Learners first, then unhealthy members, then the highest ordinal (numerically). */
function scaleDownVictim(names: ClusterNames, members: Member[]): Member {
  const rank = (m: Member) => (m.isLearner ? 0 : m.healthy ? 2 : 1);
  const sorted = [...members].sort((a, b) => rank(a) - rank(b) || byOrdinal(names.cluster)(b.name, a.name));
  return sorted[0]!;
}

/**
 * The ordinal for the next new member: past every name in use or reserved, and past the highest
 * ever handed out (status.nextOrdinal remembers it across removals), so that no name is reused.
 */
function nextOrdinal(o: Observed, names: ClusterNames, members: Member[]): number {
  const seen = [...members.map((m) => m.name), ...o.pods.keys(), ...o.claims.keys(), ...o.reservedMembers]
    .map((n) => memberOrdinal(names.cluster, n))
    .filter((n): n is number => n !== undefined);
  return Math.max(o.cluster.status?.nextOrdinal ?? 0, ...seen.map((n) => n + 1));
}

/**
 * One past the highest ordinal known, or used by this plan's new pods. A learner about to be added
 * is not counted: once etcd has it, every later pass sees its name in the membership.
 */
function ordinalAfter(o: Observed, names: ClusterNames, members: Member[], core: CorePlan): number {
  const created = core.resources.flatMap((r) => (r.kind === 'CreatePod' ? [r.pod.metadata?.name ?? ''] : []));
  const ordinals = created
    .map((n) => memberOrdinal(names.cluster, n))
    .filter((n): n is number => n !== undefined);
  return Math.max(nextOrdinal(o, names, members), ...ordinals.map((n) => n + 1));
}

/** What happens to a member's claim once the member is gone, by reclaim policy. */
function claimDisposal(cluster: EtcdCluster, member: string): ResourceChange {
  const name = claimName(member);
  return cluster.spec.storage.reclaimPolicy === 'Delete'
    ? { kind: 'DeleteClaim', name }
    : { kind: 'ReleaseClaim', name };
}

/** On deletion, Retain claims are released before garbage collection takes everything owned. */
function releaseOrDeleteAllClaims(cluster: EtcdCluster, o: Observed): ResourceChange[] {
  return [...o.claims.keys()].map((name) => claimDisposal(cluster, name));
}

function initialClusterOf(pod: Pod): string | undefined {
  const flag = pod.spec?.containers[0]?.args?.find((a) => a.startsWith('--initial-cluster='));
  return flag?.slice('--initial-cluster='.length);
}

function isDeleting(obj: { metadata?: { deletionTimestamp?: Date | string } } | undefined): boolean {
  return obj?.metadata?.deletionTimestamp !== undefined;
}
