/**
 * EtcdAdmin over `etcdctl` run inside the members' pods: for etcd this operator does not manage
 * (kubeadm's static pod), where the only client certificate at hand is the pod's own files.
 *
 * Each per-member call runs in that member's pod against its advertised client URL; cluster-wide
 * calls run in the first pod that answers. Output is etcdctl's JSON, whose uint64 IDs are quoted
 * before parsing (a JS number would corrupt them). etcd images >= 3.5.7 have no shell and no `cat`,
 * so a snapshot cannot be carried out of the pod this way.
 */
import type {
  Alarm,
  EndpointHealth,
  EndpointStatus,
  EndpointStatusResult,
  EtcdAdmin,
  HashKV,
  Member,
  MemberAddResult,
  MemberList,
  SnapshotChunk,
} from '../etcd/admin.js';
import { toEtcdError } from '../etcd/etcd-errors.js';
import { formatMemberId } from '../etcd/member-id.js';
import { EtcdOperatorError, UnavailableError, UsageError } from '../errors.js';
import type { ExecResult } from './exec.js';

/** One member as exec reaches it. */
export interface EtcdctlEndpoint {
  /** The member's advertised client URL: the endpoint this admin names it by. */
  url: string;
  pod: string;
  /** `--cacert/--cert/--key` from the pod's own files. */
  tlsArgs: string[];
}

export interface EtcdctlAdminOptions {
  endpoints: readonly EtcdctlEndpoint[];
  /** Runs `argv` (etcdctl and its arguments) in `pod`. */
  run(pod: string, argv: string[]): Promise<ExecResult>;
  /** etcdctl's --command-timeout; default 5 s. */
  timeoutMs?: number;
  /** Deadline of a defragmentation; default 10 min. */
  defragmentTimeoutMs?: number;
}

const NO_LEADER = formatMemberId(0n);
/** etcdctl prints uint64 fields as bare JSON numbers. */
const UINT64_FIELDS = /"(ID|cluster_id|member_id|leader|memberID)":(\d+)/g;

export function createEtcdctlAdmin(options: EtcdctlAdminOptions): EtcdAdmin {
  return new EtcdctlAdmin(options);
}

class EtcdctlAdmin implements EtcdAdmin {
  readonly endpoints: readonly string[];
  private readonly byUrl: Map<string, EtcdctlEndpoint>;

  constructor(private readonly options: EtcdctlAdminOptions) {
    if (options.endpoints.length === 0) throw new UnavailableError('no etcd pods to exec into');
    this.endpoints = options.endpoints.map((e) => e.url);
    this.byUrl = new Map(options.endpoints.map((e) => [e.url, e]));
  }

  async memberList(): Promise<MemberList> {
    // Linearizable in etcdctl 3.6 by default; 3.4 and 3.5 know no --consistency for it.
    return toMemberList(await this.anywhere('member list', ['member', 'list']));
  }

  async memberAdd(
    peerURLs: readonly string[],
    options: { learner?: boolean } = {},
  ): Promise<MemberAddResult> {
    // etcdctl wants a name only to print the new member's environment; etcd does not store it.
    const args = ['member', 'add', 'new-member', `--peer-urls=${peerURLs.join(',')}`];
    const res = (await this.anywhere(
      'member add',
      options.learner ? [...args, '--learner'] : args,
    )) as RawMemberResponse;
    return { ...toMemberList(res), member: toMember(res.member ?? { ID: '0' }) };
  }

  async memberPromote(id: string): Promise<MemberList> {
    return toMemberList(await this.anywhere('member promote', ['member', 'promote', id]));
  }

  async memberRemove(id: string): Promise<MemberList> {
    return toMemberList(await this.anywhere('member remove', ['member', 'remove', id]));
  }

  async memberUpdate(id: string, peerURLs: readonly string[]): Promise<MemberList> {
    return toMemberList(
      await this.anywhere('member update', ['member', 'update', id, `--peer-urls=${peerURLs.join(',')}`]),
    );
  }

  async status(endpoint: string): Promise<EndpointStatus> {
    const [entry] = (await this.at(endpoint, 'status', ['endpoint', 'status'])) as RawStatusEntry[];
    if (!entry) throw new UnavailableError(`etcd status at ${endpoint}: etcdctl printed no status`);
    const s = entry.Status;
    const memberId = formatMemberId(s.header.member_id);
    const leaderId = formatMemberId(s.leader ?? '0');
    return {
      endpoint,
      clusterId: formatMemberId(s.header.cluster_id),
      memberId,
      leaderId,
      isLeader: leaderId !== NO_LEADER && leaderId === memberId,
      isLearner: s.isLearner ?? false,
      version: s.version,
      dbSize: s.dbSize,
      dbSizeInUse: s.dbSizeInUse ?? s.dbSize,
      raftTerm: s.raftTerm,
      raftIndex: s.raftIndex,
      raftAppliedIndex: s.raftAppliedIndex ?? s.raftIndex,
      revision: s.header.revision ?? 0,
      errors: s.errors ?? [],
    };
  }

  async statusAll(): Promise<EndpointStatusResult[]> {
    return Promise.all(
      this.endpoints.map((endpoint) => this.status(endpoint).catch((error: Error) => ({ endpoint, error }))),
    );
  }

  async health(endpoint: string): Promise<EndpointHealth> {
    try {
      const [entry] = (await this.at(endpoint, 'health', ['endpoint', 'health'], { allowFailure: true })) as {
        health: boolean;
        error?: string;
      }[];
      if (!entry) return { endpoint, healthy: false, error: 'etcdctl printed no health' };
      return { endpoint, healthy: entry.health, ...(entry.error ? { error: entry.error } : {}) };
    } catch (err) {
      return { endpoint, healthy: false, error: (err as Error).message };
    }
  }

  async alarmList(): Promise<Alarm[]> {
    return toAlarms(await this.anywhere('alarm list', ['alarm', 'list']));
  }

  async alarmDisarm(memberId?: string): Promise<Alarm[]> {
    if (memberId !== undefined) {
      throw new UsageError(
        'etcdctl disarms every alarm at once: leave out the member with the exec transport',
      );
    }
    const active = await this.alarmList();
    if (active.length > 0) await this.anywhere('alarm disarm', ['alarm', 'disarm']);
    return active;
  }

  async defragment(endpoint: string): Promise<void> {
    const timeout = `--command-timeout=${Math.ceil((this.options.defragmentTimeoutMs ?? 600_000) / 1000)}s`;
    await this.at(endpoint, 'defragment', ['defrag', timeout], { json: false });
  }

  async hashKV(endpoint: string, revision = 0): Promise<HashKV> {
    const [entry] = (await this.at(endpoint, 'hashKV', ['endpoint', 'hashkv', `--rev=${revision}`])) as {
      HashKV: { header: RawHeader; hash: number; compact_revision: number };
    }[];
    if (!entry) throw new UnavailableError(`etcd hashKV at ${endpoint}: etcdctl printed no hash`);
    return {
      endpoint,
      memberId: formatMemberId(entry.HashKV.header.member_id),
      hash: entry.HashKV.hash,
      revision: entry.HashKV.header.revision ?? 0,
      compactRevision: entry.HashKV.compact_revision,
    };
  }

  async countKeys(endpoint: string, revision = 0): Promise<number> {
    const { count } = (await this.at(endpoint, 'count keys', [
      'get',
      '',
      '--prefix',
      '--count-only',
      '--consistency=s',
      `--rev=${revision}`,
    ])) as { count?: number };
    return count ?? 0;
  }

  async moveLeader(targetId: string): Promise<void> {
    // etcdctl finds the leader among the endpoints it is given: give it all of them.
    const first = this.options.endpoints[0]!;
    await this.exec(first, 'move-leader', ['move-leader', targetId], this.endpoints, { json: false });
  }

  /** An iterable that fails at once: there is no way to carry the bytes out. */
  snapshot(endpoint: string): AsyncIterable<SnapshotChunk> {
    const refusal = new UsageError(
      `a snapshot of ${endpoint} cannot be carried out of its pod by exec (etcd images have no shell or cat): take it where the member's certificates are, with etcdctl snapshot save, or through port-forward for an EtcdCluster`,
    );
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(refusal) }) };
  }

  close(): void {
    // Nothing stays open between execs.
  }

  /** Runs in the endpoint's own pod, against that endpoint only. */
  private async at(
    endpoint: string,
    operation: string,
    args: string[],
    flags: { json?: boolean; allowFailure?: boolean } = {},
  ): Promise<unknown> {
    const target = this.byUrl.get(endpoint);
    if (!target) throw new UsageError(`${endpoint} is not one of ${this.endpoints.join(', ')}`);
    return this.exec(target, operation, args, [endpoint], flags);
  }

  /** Runs in the first pod whose etcdctl gets an answer from its own member. */
  private async anywhere(operation: string, args: string[]): Promise<unknown> {
    let last: unknown;
    for (const target of this.options.endpoints) {
      try {
        return await this.exec(target, operation, args, [target.url]);
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        last = err;
      }
    }
    throw last;
  }

  private async exec(
    target: EtcdctlEndpoint,
    operation: string,
    args: string[],
    endpoints: readonly string[],
    { json = true, allowFailure = false }: { json?: boolean; allowFailure?: boolean } = {},
  ): Promise<unknown> {
    const timeout = `--command-timeout=${Math.ceil((this.options.timeoutMs ?? 5000) / 1000)}s`;
    const argv = [
      'etcdctl',
      `--endpoints=${endpoints.join(',')}`,
      ...target.tlsArgs,
      timeout,
      ...args,
      ...(json ? ['-w', 'json'] : []),
    ];
    const res = await this.options.run(target.pod, argv).catch((err: unknown) => {
      throw toEtcdError(err, operation, target.url);
    });
    if (res.exitCode !== 0 && !(allowFailure && res.stdout.length > 0)) {
      throw etcdctlError(res, operation, target.url);
    }
    if (!json) return undefined;
    return JSON.parse(res.stdout.toString('utf8').replace(UINT64_FIELDS, '"$1":"$2"')) as unknown;
  }
}

/** etcdctl's failure as a typed error: its `Error:` line, classified like a gRPC error. */
export function etcdctlError(res: ExecResult, operation: string, endpoint: string): Error {
  const lines = res.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('{'));
  const message = (lines.at(-1) ?? `etcdctl exited with code ${res.exitCode}`).replace(/^Error:\s*/, '');
  const typed = toEtcdError(new Error(message), operation, endpoint);
  // etcdctl's exit code 2 is "bad connection"; "context deadline exceeded" is how a timeout reads.
  if (typed.constructor === EtcdOperatorError && (res.exitCode === 2 || /deadline exceeded/.test(message))) {
    return new UnavailableError(typed.message, { cause: typed });
  }
  return typed;
}

interface RawHeader {
  cluster_id: string;
  member_id: string;
  revision?: number;
}

interface RawMember {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

interface RawMemberResponse {
  header: RawHeader;
  member?: RawMember;
  members?: RawMember[];
}

interface RawStatusEntry {
  Status: {
    header: RawHeader;
    version: string;
    dbSize: number;
    dbSizeInUse?: number;
    leader?: string;
    raftIndex: number;
    raftTerm: number;
    raftAppliedIndex?: number;
    isLearner?: boolean;
    errors?: string[];
  };
}

function toMember(m: RawMember): Member {
  return {
    id: formatMemberId(m.ID),
    name: m.name ?? '',
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
    isLearner: m.isLearner ?? false,
  };
}

function toMemberList(raw: unknown): MemberList {
  const res = raw as RawMemberResponse;
  return { clusterId: formatMemberId(res.header.cluster_id), members: (res.members ?? []).map(toMember) };
}

/** etcdctl prints the alarm as its enum number: 1 NOSPACE, 2 CORRUPT. */
function toAlarms(raw: unknown): Alarm[] {
  const alarms = (raw as { alarms?: { memberID: string; alarm?: number }[] }).alarms ?? [];
  return alarms.map((a) => ({
    memberId: formatMemberId(a.memberID),
    alarm: a.alarm === 2 ? 'CORRUPT' : 'NOSPACE',
  }));
}
