/**
 * EtcdAdmin: the operations the operator and the plugin need on an etcd cluster, as a port (an
 * interface controllers can fake) with one implementation over etcd3.
 *
 * etcd3 shuffles hosts and retries; administration needs neither. Each endpoint gets its own
 * client so that a per-member call (status, defragment, snapshot) reaches that member. No call is
 * retried: member add and remove are not idempotent, and a controller requeues anyway. Calls that
 * only read fail over across endpoints; calls that change membership go to one endpoint only.
 */
import { noop } from 'cockatiel';
import {
  Etcd3,
  type ICallable,
  type IHashKVRequest,
  type IHashKVResponse,
  type IOptions,
  type IResponseHeader,
  type ISnapshotResponse,
} from 'etcd3';
import { NotFoundError, UnavailableError } from '../errors.js';
import { toEtcdError } from './etcd-errors.js';
import { formatMemberId, memberIdToDecimal } from './member-id.js';

/** An etcd client URL, with the TLS server name to expect when it differs from the URL's host. */
export interface EtcdEndpoint {
  url: string;
  /** Verify the server certificate for this name (e.g. when `url` is a port-forward on localhost). */
  serverName?: string;
}

export interface EtcdTlsOptions {
  /** PEM of the CA that signed the servers' certificates. */
  caCert: string;
  /** PEM client certificate and key, for clusters with client-certificate auth. */
  cert?: string;
  key?: string;
  /** Default server name for every endpoint that sets none. */
  serverName?: string;
}

export interface EtcdAdminOptions {
  endpoints: readonly (string | EtcdEndpoint)[];
  tls?: EtcdTlsOptions;
  /** Deadline of each call; default 5 s. */
  timeoutMs?: number;
  /** Deadline of a defragmentation, which blocks the member while it runs; default 10 min. */
  defragmentTimeoutMs?: number;
  /**
   * HTTP/2 flow-control window in bytes; 4 MiB unless given. A snapshot streams at most one window
   * per round trip: at gRPC's own 64 KiB a 150 MiB snapshot crossed loopback at a third of the speed
   * (bench/backup.ts); over a longer path, such as a port-forward, a larger one keeps it fast. It is
   * a credit, not a buffer: the bytes it lets in are what the consumer has not yet read.
   */
  flowControlWindow?: number;
}

export interface Member {
  /** 16-digit hex. */
  id: string;
  /** Empty until the member has started and published its name. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberList {
  /** 16-digit hex. */
  clusterId: string;
  members: Member[];
}

export interface MemberAddResult extends MemberList {
  member: Member;
}

export interface EndpointStatus {
  endpoint: string;
  clusterId: string;
  memberId: string;
  /** The member the responding member believes leads; `0000000000000000` when none. */
  leaderId: string;
  isLeader: boolean;
  isLearner: boolean;
  version: string;
  /** Bytes allocated to the backend database file. */
  dbSize: number;
  /** Bytes logically in use; the difference is what defragmentation can give back. */
  dbSizeInUse: number;
  raftTerm: number;
  raftIndex: number;
  raftAppliedIndex: number;
  /** The store's revision when the member answered. */
  revision: number;
  /** Alarm and health notes the member reports about itself. */
  errors: string[];
}

/** An endpoint's status, or why it could not be had. */
export type EndpointStatusResult = EndpointStatus | { endpoint: string; error: Error };

export interface EndpointHealth {
  endpoint: string;
  healthy: boolean;
  /** Why it is not healthy. */
  error?: string;
}

export type AlarmType = 'NOSPACE' | 'CORRUPT';

export interface Alarm {
  memberId: string;
  alarm: AlarmType;
}

export interface HashKV {
  endpoint: string;
  memberId: string;
  /** uint32 hash of the keyspace up to `revision`. */
  hash: number;
  revision: number;
  compactRevision: number;
}

/** One message of a snapshot stream. */
export interface SnapshotChunk {
  blob: Buffer;
  /** Bytes still to come after this chunk (the database part only; the SHA-256 trailer follows). */
  remainingBytes: number;
}

export interface SnapshotStreamOptions {
  signal?: AbortSignal;
}

/** The port. Member IDs are 16-digit hex at every boundary. */
export interface EtcdAdmin {
  /** The endpoint URLs this admin talks to, in the order given. */
  readonly endpoints: readonly string[];
  /** A linearizable member list: it reflects every committed membership change. */
  memberList(): Promise<MemberList>;
  memberAdd(peerURLs: readonly string[], options?: { learner?: boolean }): Promise<MemberAddResult>;
  /** Throws LearnerNotInSyncError while the learner catches up: poll. */
  memberPromote(id: string): Promise<MemberList>;
  memberRemove(id: string): Promise<MemberList>;
  memberUpdate(id: string, peerURLs: readonly string[]): Promise<MemberList>;
  status(endpoint: string): Promise<EndpointStatus>;
  /** Every endpoint's status; an unreachable endpoint gives its error instead. */
  statusAll(): Promise<EndpointStatusResult[]>;
  health(endpoint: string): Promise<EndpointHealth>;
  alarmList(): Promise<Alarm[]>;
  /** Disarms every active alarm (or those of `memberId`); returns what it disarmed. */
  alarmDisarm(memberId?: string): Promise<Alarm[]>;
  defragment(endpoint: string): Promise<void>;
  hashKV(endpoint: string, revision?: number): Promise<HashKV>;
  /** The number of keys at `revision` (0: the latest), as the member at `endpoint` holds them. */
  countKeys(endpoint: string, revision?: number): Promise<number>;
  /** Asks the current leader to hand leadership to `targetId`. */
  moveLeader(targetId: string): Promise<void>;
  snapshot(endpoint: string, options?: SnapshotStreamOptions): AsyncIterable<SnapshotChunk>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_FLOW_CONTROL_WINDOW = 4 << 20;
const DEFAULT_DEFRAGMENT_TIMEOUT_MS = 10 * 60_000;
const NO_LEADER = formatMemberId(0n);

export function createEtcdAdmin(options: EtcdAdminOptions): EtcdAdmin {
  return new Etcd3Admin(options);
}

class Etcd3Admin implements EtcdAdmin {
  readonly endpoints: readonly string[];
  private readonly clients = new Map<string, Etcd3>();
  private readonly specs: Map<string, EtcdEndpoint>;
  private readonly timeoutMs: number;
  private readonly defragmentTimeoutMs: number;
  /** The endpoint that answered last: membership changes go there. */
  private preferred = 0;

  constructor(private readonly options: EtcdAdminOptions) {
    const specs = options.endpoints.map((e) => (typeof e === 'string' ? { url: e } : e));
    if (specs.length === 0) throw new UnavailableError('no etcd endpoints given');
    this.specs = new Map(specs.map((s) => [s.url, s]));
    this.endpoints = specs.map((s) => s.url);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.defragmentTimeoutMs = options.defragmentTimeoutMs ?? DEFAULT_DEFRAGMENT_TIMEOUT_MS;
  }

  async memberList(): Promise<MemberList> {
    return this.anyEndpoint('member list', async (client) => {
      const res = await client.cluster.memberList({ linearizable: true }, this.deadline());
      return { clusterId: formatMemberId(res.header.cluster_id), members: res.members.map(toMember) };
    });
  }

  async memberAdd(
    peerURLs: readonly string[],
    options: { learner?: boolean } = {},
  ): Promise<MemberAddResult> {
    return this.oneEndpoint('member add', async (client) => {
      const res = await client.cluster.memberAdd(
        { peerURLs: [...peerURLs], isLearner: options.learner ?? false },
        this.deadline(),
      );
      return {
        clusterId: formatMemberId(res.header.cluster_id),
        member: toMember(res.member),
        members: res.members.map(toMember),
      };
    });
  }

  async memberPromote(id: string): Promise<MemberList> {
    return this.oneEndpoint('member promote', async (client) =>
      toMemberList(await client.cluster.memberPromote({ ID: memberIdToDecimal(id) }, this.deadline())),
    );
  }

  async memberRemove(id: string): Promise<MemberList> {
    return this.oneEndpoint('member remove', async (client) =>
      toMemberList(await client.cluster.memberRemove({ ID: memberIdToDecimal(id) }, this.deadline())),
    );
  }

  async memberUpdate(id: string, peerURLs: readonly string[]): Promise<MemberList> {
    return this.oneEndpoint('member update', async (client) =>
      toMemberList(
        await client.cluster.memberUpdate(
          { ID: memberIdToDecimal(id), peerURLs: [...peerURLs] },
          this.deadline(),
        ),
      ),
    );
  }

  async status(endpoint: string): Promise<EndpointStatus> {
    return this.at(endpoint, 'status', async (client) => {
      const res = await client.maintenance.status(this.deadline());
      const memberId = formatMemberId(res.header.member_id);
      const leaderId = formatMemberId(res.leader);
      return {
        endpoint,
        clusterId: formatMemberId(res.header.cluster_id),
        memberId,
        leaderId,
        isLeader: leaderId !== NO_LEADER && leaderId === memberId,
        isLearner: res.isLearner,
        version: res.version,
        dbSize: Number(res.dbSize),
        dbSizeInUse: Number(res.dbSizeInUse),
        raftTerm: Number(res.raftTerm),
        raftIndex: Number(res.raftIndex),
        raftAppliedIndex: Number(res.raftAppliedIndex),
        revision: Number(res.header.revision),
        errors: res.errors,
      };
    });
  }

  async statusAll(): Promise<EndpointStatusResult[]> {
    return Promise.all(
      this.endpoints.map((endpoint) => this.status(endpoint).catch((error: Error) => ({ endpoint, error }))),
    );
  }

  /** etcdctl's definition: a linearizable read succeeds and no alarm is active. */
  async health(endpoint: string): Promise<EndpointHealth> {
    try {
      await this.at(endpoint, 'health', (client) => client.get('health').options(this.deadline()).exec());
      const alarms = await this.at(endpoint, 'health', (client) => listAlarms(client, this.deadline()));
      if (alarms.length > 0) {
        return {
          endpoint,
          healthy: false,
          error: `active alarms: ${alarms.map((a) => `${a.alarm} on ${a.memberId}`).join(', ')}`,
        };
      }
      return { endpoint, healthy: true };
    } catch (err) {
      return { endpoint, healthy: false, error: (err as Error).message };
    }
  }

  async alarmList(): Promise<Alarm[]> {
    return this.anyEndpoint('alarm list', (client) => listAlarms(client, this.deadline()));
  }

  async alarmDisarm(memberId?: string): Promise<Alarm[]> {
    return this.oneEndpoint('alarm disarm', async (client) => {
      const active = await listAlarms(client, this.deadline());
      const targets = memberId === undefined ? active : active.filter((a) => a.memberId === memberId);
      for (const a of targets) {
        await client.maintenance.alarm(
          { action: 'Deactivate', memberID: memberIdToDecimal(a.memberId), alarm: alarmName(a.alarm) },
          this.deadline(),
        );
      }
      return targets;
    });
  }

  async defragment(endpoint: string): Promise<void> {
    await this.at(endpoint, 'defragment', (client) =>
      client.maintenance.defragment({ deadline: Date.now() + this.defragmentTimeoutMs }),
    );
  }

  async hashKV(endpoint: string, revision = 0): Promise<HashKV> {
    return this.at(endpoint, 'hashKV', async (client) => {
      const res = await hashKV(client, { revision }, this.deadline());
      return {
        endpoint,
        memberId: formatMemberId(res.header.member_id),
        hash: Number(res.hash),
        revision: Number(res.header.revision),
        compactRevision: Number(res.compact_revision),
      };
    });
  }

  async countKeys(endpoint: string, revision = 0): Promise<number> {
    return this.at(endpoint, 'count keys', async (client) => {
      // The whole keyspace: from the zero byte to the zero byte, as `etcdctl get "" --prefix`.
      const all = Buffer.from([0]);
      const res = await client.kv.range(
        { key: all, range_end: all, count_only: true, serializable: true, revision },
        this.deadline(),
      );
      return Number(res.count);
    });
  }

  async moveLeader(targetId: string): Promise<void> {
    // Only the leader may transfer leadership: find it among the endpoints.
    const statuses = await this.statusAll();
    const leader = statuses.find((s): s is EndpointStatus => 'isLeader' in s && s.isLeader);
    if (!leader) {
      throw new UnavailableError(
        `etcd move-leader: no endpoint of ${this.endpoints.join(', ')} is the leader`,
      );
    }
    await this.at(leader.endpoint, 'move-leader', (client) =>
      client.maintenance.moveLeader({ targetID: memberIdToDecimal(targetId) }, this.deadline()),
    );
  }

  async *snapshot(endpoint: string, options: SnapshotStreamOptions = {}): AsyncIterable<SnapshotChunk> {
    const client = this.client(endpoint);
    const stream = (await client.maintenance.snapshot().catch((err: unknown) => {
      throw toEtcdError(err, 'snapshot', endpoint);
    })) as unknown as AsyncIterable<ISnapshotResponse> & { cancel(): void };
    const abort = () => stream.cancel();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const message of stream) {
        yield { blob: message.blob, remainingBytes: Number(message.remaining_bytes) };
      }
    } catch (err) {
      throw toEtcdError(err, 'snapshot', endpoint);
    } finally {
      options.signal?.removeEventListener('abort', abort);
      // Stops the stream when the consumer returns early or throws.
      stream.cancel();
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private deadline(): { deadline: number } {
    return { deadline: Date.now() + this.timeoutMs };
  }

  private client(endpoint: string): Etcd3 {
    const existing = this.clients.get(endpoint);
    if (existing) return existing;
    const spec = this.specs.get(endpoint);
    if (!spec)
      throw new NotFoundError(`${endpoint} is not one of the endpoints ${this.endpoints.join(', ')}`);
    const client = new Etcd3(
      clientOptions(spec, this.options.tls, this.options.flowControlWindow ?? DEFAULT_FLOW_CONTROL_WINDOW),
    );
    this.clients.set(endpoint, client);
    return client;
  }

  private async at<T>(endpoint: string, operation: string, fn: (client: Etcd3) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client(endpoint));
    } catch (err) {
      throw toEtcdError(err, operation, endpoint);
    }
  }

  /** A read: tries each endpoint from the preferred one until one answers. */
  private async anyEndpoint<T>(operation: string, fn: (client: Etcd3) => Promise<T>): Promise<T> {
    const errors: Error[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.preferred + i) % this.endpoints.length;
      try {
        const result = await this.at(this.endpoints[index]!, operation, fn);
        this.preferred = index;
        return result;
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        errors.push(err);
      }
    }
    throw new UnavailableError(
      `etcd ${operation}: no endpoint answered (${errors.map((e) => e.message).join('; ')})`,
      {
        cause: errors[0],
      },
    );
  }

  /** A change: one attempt at the preferred endpoint. A failure moves the preference on. */
  private async oneEndpoint<T>(operation: string, fn: (client: Etcd3) => Promise<T>): Promise<T> {
    const index = this.preferred;
    try {
      return await this.at(this.endpoints[index]!, operation, fn);
    } catch (err) {
      if (err instanceof UnavailableError) this.preferred = (index + 1) % this.endpoints.length;
      throw err;
    }
  }
}

function clientOptions(
  endpoint: EtcdEndpoint,
  tls: EtcdTlsOptions | undefined,
  flowControlWindow: number,
): IOptions {
  const serverName = endpoint.serverName ?? tls?.serverName;
  const grpcOptions = {
    ...(serverName
      ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName }
      : {}),
    'grpc-node.flow_control_window': flowControlWindow,
  };
  return {
    hosts: endpoint.url,
    // No retries and no circuit breaker: every failure reaches the caller at once.
    faultHandling: { host: () => noop, global: noop },
    ...(tls
      ? {
          credentials: {
            rootCertificate: Buffer.from(tls.caCert),
            ...(tls.key ? { privateKey: Buffer.from(tls.key) } : {}),
            ...(tls.cert ? { certChain: Buffer.from(tls.cert) } : {}),
          },
        }
      : {}),
    ...(Object.keys(grpcOptions).length > 0 ? { grpcOptions } : {}),
  };
}

interface RawMember {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

function toMember(m: RawMember): Member {
  return {
    id: formatMemberId(m.ID),
    name: m.name,
    peerURLs: m.peerURLs,
    clientURLs: m.clientURLs,
    isLearner: m.isLearner,
  };
}

function toMemberList(res: { header: IResponseHeader; members: RawMember[] }): MemberList {
  return { clusterId: formatMemberId(res.header.cluster_id), members: res.members.map(toMember) };
}

async function listAlarms(client: Etcd3, options: { deadline: number }): Promise<Alarm[]> {
  const res = await client.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' }, options);
  return res.alarms.map((a) => ({ memberId: formatMemberId(a.memberID), alarm: alarmType(a.alarm) }));
}

/**
 * etcd3 1.1 calls `hashKV` on the gRPC client, whose method is `HashKV` (alias `hashKv`): it always
 * fails with "client[method] is not a function". Call the method by its proto name.
 */
function hashKV(client: Etcd3, req: IHashKVRequest, options: { deadline: number }): Promise<IHashKVResponse> {
  const callable = (client.maintenance as unknown as { client: ICallable<unknown> }).client;
  return callable.exec<IHashKVResponse>('Maintenance', 'HashKV', req, options);
}

/** etcd3's proto spells the alarms `Nospace` and `Corrupt`; etcdctl prints `NOSPACE`, `CORRUPT`. */
function alarmType(name: string): AlarmType {
  return name === 'Corrupt' ? 'CORRUPT' : 'NOSPACE';
}

function alarmName(type: AlarmType): 'Nospace' | 'Corrupt' {
  return type === 'CORRUPT' ? 'Corrupt' : 'Nospace';
}
