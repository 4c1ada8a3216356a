/**
 * `kubectl etcd status`: what one cluster's members say about themselves, joined with its member
 * list, its alarms and its pods. Pure: the command gathers, this decides what each row says.
 */
import type { Alarm, EndpointStatus, EndpointStatusResult, MemberList } from '../../lib/etcd/admin.js';
import { formatMemberId } from '../../lib/etcd/member-id.js';
import type { EtcdConnection } from '../../lib/access/connect.js';
import type { Failure } from '../failures.js';
import type { Column } from '../output/table.js';
import { formatBytes } from '../../lib/api/quantity.js';
import { UnavailableError } from '../../lib/errors.js';

export interface MemberReport {
  name: string;
  pod?: string;
  id?: string;
  version?: string;
  dbSize?: number;
  dbSizeInUse?: number;
  isLeader: boolean;
  isLearner: boolean;
  raftTerm?: number;
  raftIndex?: number;
  raftAppliedIndex?: number;
  revision?: number;
  /** Answered, knows a leader, reports no error and no alarm. */
  healthy: boolean;
  /** Could not be asked (pod missing, port-forward refused, member down). */
  unreachable?: string;
  /** What the member reports about itself. */
  errors: string[];
  alarms: string[];
}

export interface ClusterReport {
  namespace: string;
  name: string;
  /** True for an EtcdCluster; false for etcd this operator does not manage. */
  managed: boolean;
  phase?: string;
  transport: string;
  clusterId?: string;
  leader?: string;
  members: MemberReport[];
}

export interface StatusInput {
  connection: Pick<EtcdConnection, 'target' | 'transport' | 'members'>;
  list: MemberList | Error;
  statuses: EndpointStatusResult[];
  alarms: Alarm[];
}

const NO_LEADER = formatMemberId(0n);

export function clusterReport({ connection, list, statuses, alarms }: StatusInput): {
  report: ClusterReport;
  failures: Failure[];
} {
  const { target, members: access } = connection;
  const answered = statuses.filter((s): s is EndpointStatus => !('error' in s));
  const byId = new Map(answered.map((s) => [s.memberId, s]));
  const byEndpoint = new Map(statuses.map((s) => [s.endpoint, s]));
  const leaderId =
    answered.find((s) => s.isLeader)?.memberId ?? answered.find((s) => s.leaderId !== NO_LEADER)?.leaderId;
  const alarmsOf = (id: string | undefined) => alarms.filter((a) => a.memberId === id).map((a) => a.alarm);
  const failures: Failure[] = [];

  const row = (
    name: string,
    id: string | undefined,
    isLearner: boolean,
    via?: EtcdConnection['members'][number],
  ) => {
    const reached = via && byEndpoint.get(via.endpoint);
    const status =
      (id !== undefined ? byId.get(id) : undefined) ??
      (reached && !('error' in reached) ? reached : undefined);
    const memberId = id ?? status?.memberId;
    const failure = status ? undefined : reason(name, via, reached);
    if (failure) failures.push({ member: name || memberId || '', error: failure });
    const unreachable = failure?.message;
    const report: MemberReport = {
      name,
      ...(via ? { pod: via.pod } : {}),
      ...(memberId !== undefined ? { id: memberId } : {}),
      ...(status ? measurements(status) : {}),
      isLeader: memberId !== undefined && memberId === leaderId,
      isLearner: status?.isLearner ?? isLearner,
      healthy: false,
      ...(unreachable !== undefined ? { unreachable } : {}),
      errors: status?.errors ?? [],
      alarms: alarmsOf(memberId),
    };
    report.healthy =
      status !== undefined &&
      leaderId !== undefined &&
      report.errors.length === 0 &&
      report.alarms.length === 0;
    return report;
  };

  const rows: MemberReport[] = [];
  const matched = new Set<string>();
  if (!(list instanceof Error)) {
    for (const m of list.members) {
      const via = access.find((a) => a.member === m.name && m.name !== '');
      if (via) matched.add(via.pod);
      rows.push(row(m.name, m.id, m.isLearner, via));
    }
  }
  for (const via of access.filter((a) => !matched.has(a.pod))) {
    const r = row(via.member, undefined, false, via);
    if (!(list instanceof Error) && r.id === undefined && r.unreachable === undefined)
      r.unreachable = 'not a member';
    rows.push(r);
  }
  rows.sort(byMemberName);

  const clusterId = (list instanceof Error ? undefined : list.clusterId) ?? answered[0]?.clusterId;
  const leader = rows.find((r) => r.isLeader)?.name;
  const report: ClusterReport = {
    namespace: target.namespace,
    name: target.name,
    managed: target.cluster !== undefined,
    ...(target.cluster?.status?.phase ? { phase: target.cluster.status.phase } : {}),
    transport: connection.transport,
    ...(clusterId ? { clusterId } : {}),
    ...(leader ? { leader } : {}),
    members: rows,
  };
  return { report, failures };
}

/** Started members by name (demo-2 before demo-10), members that never started last. */
export function byMemberName(a: { name: string }, b: { name: string }): number {
  if ((a.name === '') !== (b.name === '')) return a.name === '' ? 1 : -1;
  return a.name.localeCompare(b.name, 'en', { numeric: true });
}

function measurements(s: EndpointStatus) {
  return {
    version: s.version,
    dbSize: s.dbSize,
    dbSizeInUse: s.dbSizeInUse,
    raftTerm: s.raftTerm,
    raftIndex: s.raftIndex,
    raftAppliedIndex: s.raftAppliedIndex,
    revision: s.revision,
  };
}

function reason(
  name: string,
  via: EtcdConnection['members'][number] | undefined,
  reached: EndpointStatusResult | undefined,
): Error {
  if (reached && 'error' in reached) return reached.error;
  if (!via) return new UnavailableError(name === '' ? 'not started yet' : 'no pod');
  return new UnavailableError(via.phase === 'Running' ? 'no answer' : `pod is ${via.phase}`);
}

export interface StatusRow {
  cluster: ClusterReport;
  member: MemberReport;
}

export function healthWord(m: MemberReport): string {
  if (m.unreachable !== undefined) return 'unreachable';
  return m.healthy ? 'healthy' : 'unhealthy';
}

export function statusColumns(allNamespaces: boolean): Column<StatusRow>[] {
  return [
    ...(allNamespaces ? [{ header: 'namespace', value: (r: StatusRow) => r.cluster.namespace }] : []),
    { header: 'cluster', value: (r) => r.cluster.name },
    { header: 'phase', value: (r) => r.cluster.phase },
    { header: 'member', value: (r) => r.member.name },
    { header: 'id', value: (r) => r.member.id },
    { header: 'version', value: (r) => r.member.version },
    { header: 'db size', value: (r) => size(r.member.dbSize) },
    { header: 'in use', value: (r) => size(r.member.dbSizeInUse) },
    { header: 'leader', value: (r) => r.member.isLeader },
    { header: 'learner', value: (r) => r.member.isLearner },
    { header: 'health', value: (r) => healthWord(r.member) },
    { header: 'pod', value: (r) => r.member.pod, wide: true },
    { header: 'raft term', value: (r) => r.member.raftTerm, wide: true },
    { header: 'raft index', value: (r) => r.member.raftIndex, wide: true },
    { header: 'applied index', value: (r) => r.member.raftAppliedIndex, wide: true },
    { header: 'revision', value: (r) => r.member.revision, wide: true },
    { header: 'alarms', value: (r) => r.member.alarms.join(','), wide: true },
    { header: 'errors', value: (r) => [r.member.unreachable, ...r.member.errors].filter(Boolean).join('; ') },
  ];
}

export function size(bytes: number | undefined): string | undefined {
  return bytes === undefined ? undefined : formatBytes(bytes);
}
