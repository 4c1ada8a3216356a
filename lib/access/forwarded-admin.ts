/**
 * An EtcdAdmin whose endpoints are port-forwards, wrapped so that its errors speak of members and
 * pods rather than of 127.0.0.1:<port>, and carry the reason a forward failed (403 from the API
 * server, nothing listening in the pod) instead of gRPC's "No connection established".
 */
import type {
  Alarm,
  EndpointHealth,
  EndpointStatus,
  EndpointStatusResult,
  EtcdAdmin,
  HashKV,
  MemberAddResult,
  MemberList,
  SnapshotChunk,
  SnapshotStreamOptions,
} from '../etcd/admin.js';
import { UnavailableError } from '../errors.js';
import type { ForwardedPort } from './port-forward.js';

export interface ForwardedEndpoint {
  /** The URL the inner admin dials: `https://127.0.0.1:<localPort>`. */
  url: string;
  /** How a person knows it: `member demo-0 (pod default/demo-0)`. */
  label: string;
  forward: ForwardedPort;
}

export function explainForwards(inner: EtcdAdmin, endpoints: readonly ForwardedEndpoint[]): EtcdAdmin {
  return new ForwardedAdmin(inner, new Map(endpoints.map((e) => [e.url, e])));
}

/** `err` with every forward's local URL in its message replaced by the member it stands for. */
export function nameEndpoints(err: unknown, endpoints: Iterable<ForwardedEndpoint>): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  for (const e of endpoints) error.message = error.message.replaceAll(e.url, e.label);
  // gRPC's deadline message lists its internal stages; a person needs the time it waited.
  error.message = error.message.replace(/Deadline exceeded after ([\d.]+)s[^;)]*/, 'no answer within $1s');
  return error;
}

class ForwardedAdmin implements EtcdAdmin {
  constructor(
    private readonly inner: EtcdAdmin,
    private readonly byUrl: Map<string, ForwardedEndpoint>,
  ) {}

  get endpoints(): readonly string[] {
    return this.inner.endpoints;
  }

  memberList(): Promise<MemberList> {
    return this.explained(() => this.inner.memberList());
  }

  memberAdd(peerURLs: readonly string[], options?: { learner?: boolean }): Promise<MemberAddResult> {
    return this.explained(() => this.inner.memberAdd(peerURLs, options));
  }

  memberPromote(id: string): Promise<MemberList> {
    return this.explained(() => this.inner.memberPromote(id));
  }

  memberRemove(id: string): Promise<MemberList> {
    return this.explained(() => this.inner.memberRemove(id));
  }

  memberUpdate(id: string, peerURLs: readonly string[]): Promise<MemberList> {
    return this.explained(() => this.inner.memberUpdate(id, peerURLs));
  }

  status(endpoint: string): Promise<EndpointStatus> {
    return this.explained(() => this.inner.status(endpoint), endpoint);
  }

  async statusAll(): Promise<EndpointStatusResult[]> {
    return (await this.inner.statusAll()).map((r) =>
      'error' in r ? { endpoint: r.endpoint, error: this.explain(r.error, r.endpoint) } : r,
    );
  }

  async health(endpoint: string): Promise<EndpointHealth> {
    const health = await this.inner.health(endpoint);
    if (health.healthy) return health;
    const error = this.explain(new UnavailableError(health.error ?? 'unhealthy'), endpoint);
    return { ...health, error: error.message };
  }

  alarmList(): Promise<Alarm[]> {
    return this.explained(() => this.inner.alarmList());
  }

  alarmDisarm(memberId?: string): Promise<Alarm[]> {
    return this.explained(() => this.inner.alarmDisarm(memberId));
  }

  defragment(endpoint: string): Promise<void> {
    return this.explained(() => this.inner.defragment(endpoint), endpoint);
  }

  hashKV(endpoint: string, revision?: number): Promise<HashKV> {
    return this.explained(() => this.inner.hashKV(endpoint, revision), endpoint);
  }

  countKeys(endpoint: string, revision?: number): Promise<number> {
    return this.explained(() => this.inner.countKeys(endpoint, revision), endpoint);
  }

  moveLeader(targetId: string): Promise<void> {
    return this.explained(() => this.inner.moveLeader(targetId));
  }

  async *snapshot(endpoint: string, options?: SnapshotStreamOptions): AsyncIterable<SnapshotChunk> {
    try {
      yield* this.inner.snapshot(endpoint, options);
    } catch (err) {
      throw this.explain(err, endpoint);
    }
  }

  close(): void {
    this.inner.close();
  }

  private async explained<T>(call: () => Promise<T>, endpoint?: string): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.explain(err, endpoint);
    }
  }

  /**
   * A forward's own failure replaces the "unavailable" it caused; every local URL in a message is
   * replaced by the member it stands for.
   */
  private explain(err: unknown, endpoint?: string): Error {
    const candidates = endpoint ? [this.byUrl.get(endpoint)] : [...this.byUrl.values()];
    const reason =
      err instanceof UnavailableError
        ? candidates.map((e) => e?.forward.lastError()).find((e) => e !== undefined)
        : undefined;
    return nameEndpoints(reason ?? err, this.byUrl.values());
  }
}
