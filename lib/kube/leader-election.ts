/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's timing contract: the holder
 * renews every retry period and gives up leading when it has not renewed for `renewDeadline`; the
 * others take the lease only after seeing it unchanged for its full `leaseDuration`. Since
 * renewDeadline < leaseDuration, a leader that stops on time never overlaps with the next one.
 */
import { ConflictError, isNotFound, UsageError } from '../errors.js';
import { jittered } from './backoff.js';
import type { KubeReader, KubeWriter } from './client.js';
import { sleep, systemClock, type Clock, type TimerHandle } from './clock.js';
import { silentLogger, type Logger } from './logger.js';
import type { KubeMetrics } from './metrics.js';
import { Leases, type Lease } from './resources.js';
import { microTime } from './timestamps.js';

export interface LeaderElectionConfig {
  /** Where the Lease lives. */
  namespace: string;
  /** The Lease's name: candidates for the same name elect one leader. */
  name: string;
  /** Unique per process (hostname + random). */
  identity: string;
  /** How long others wait after the last renewal they saw before taking over (15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it stops leading (10 s). */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew (2 s). */
  retryPeriodMs?: number;
}

export interface LeaderElectorOptions extends LeaderElectionConfig {
  client: Pick<KubeReader, 'get'> & Pick<KubeWriter, 'create' | 'update'>;
  clock?: Clock;
  logger?: Logger;
  metrics?: KubeMetrics;
  random?: () => number;
  /** Called once when this process stops leading because it could not renew in time. */
  onLost?: () => void;
}

export type LeaseSpec = NonNullable<Lease['spec']>;

export type LeaseDecision =
  | { action: 'create' | 'take' | 'renew'; spec: LeaseSpec }
  /** Another holder's lease is still valid until `expiresAt` (by this process's clock). */
  | { action: 'wait'; holder: string; expiresAt: number };

/**
 * What a candidate should do with the Lease it read (undefined: none exists). `observedAt` is when
 * this process first saw the lease in its current state: expiry is measured from there, on this
 * process's own clock, never from the holder's timestamps.
 */
export function decideLease(
  current: LeaseSpec | undefined,
  observedAt: number,
  now: number,
  identity: string,
  leaseDurationMs: number,
): LeaseDecision {
  const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
  const fresh = {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: microTime(now),
    renewTime: microTime(now),
  };
  if (!current) return { action: 'create', spec: { ...fresh, leaseTransitions: 0 } };
  const holder = current.holderIdentity ?? '';
  if (holder === identity)
    return { action: 'renew', spec: { ...current, leaseDurationSeconds, renewTime: microTime(now) } };
  const expiresAt = observedAt + (current.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  if (holder !== '' && expiresAt > now) return { action: 'wait', holder, expiresAt };
  return { action: 'take', spec: { ...fresh, leaseTransitions: (current.leaseTransitions ?? 0) + 1 } };
}

export class LeaderElector {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  /** The lease as last read or written, and when this process first saw it so. */
  private observed: { lease: Lease; at: number } | undefined;
  private leading = false;
  private renewing: { stop: AbortController; done: Promise<void> } | undefined;
  private deadline?: TimerHandle;

  constructor(private readonly options: LeaderElectorOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ lease: `${options.namespace}/${options.name}` });
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.retryPeriodMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new UsageError('leader election needs retryPeriod < renewDeadline < leaseDuration');
    }
  }

  get identity(): string {
    return this.options.identity;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder as last seen ('' for none). */
  get holder(): string {
    return this.observed?.lease.spec?.holderIdentity ?? '';
  }

  /**
   * Tries every retry period until this process holds the lease (resolves true) or `signal`
   * aborts (false). Once leading, it renews in the background until `release()` or until it fails
   * to renew within the renew deadline, which calls `onLost`.
   */
  async acquire(signal: AbortSignal): Promise<boolean> {
    let lastHolder: string | undefined;
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) {
        this.becomeLeader();
        return true;
      }
      if (this.holder !== lastHolder) {
        lastHolder = this.holder;
        this.logger.info({ holder: lastHolder }, 'the lease is held by another process; waiting');
      }
      await sleep(this.clock, jittered(this.retryPeriodMs, 0.2, this.options.random), signal);
    }
    return false;
  }

  /** Stops renewing and, if still leading, hands the lease back so a standby takes over at once. */
  async release(): Promise<void> {
    const renewing = this.renewing;
    this.renewing = undefined;
    renewing?.stop.abort();
    await renewing?.done;
    if (!this.leading) return;
    this.stopLeading();
    const lease = this.observed?.lease;
    if (!lease?.spec) return;
    const now = this.clock.now();
    const released: Lease = {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: microTime(now),
        renewTime: microTime(now),
      },
    };
    try {
      await this.options.client.update(Leases, released, { signal: AbortSignal.timeout(this.retryPeriodMs) });
      this.logger.info({}, 'released the lease');
    } catch (err) {
      // Not fatal: the lease expires by itself after leaseDuration.
      this.logger.warn({ err }, 'could not release the lease');
    }
  }

  private becomeLeader(): void {
    this.leading = true;
    this.options.metrics?.leaderStatus.set({ name: this.options.name }, 1);
    this.logger.info({ identity: this.identity }, 'acquired the lease: leading');
    this.armDeadline();
    const stop = new AbortController();
    this.renewing = { stop, done: this.renewLoop(stop.signal) };
  }

  private stopLeading(): void {
    this.leading = false;
    this.clock.clearTimeout(this.deadline);
    this.options.metrics?.leaderStatus.set({ name: this.options.name }, 0);
  }

  /** The deadline is a timer, not a check after each attempt: a renew request may hang. */
  private armDeadline(): void {
    this.clock.clearTimeout(this.deadline);
    this.deadline = this.clock.setTimeout(
      () => this.lose(`could not renew the lease within ${this.renewDeadlineMs} ms`),
      this.renewDeadlineMs,
    );
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.stopLeading();
    this.renewing?.stop.abort();
    this.logger.error({ holder: this.holder }, `leadership lost: ${why}`);
    this.options.onLost?.();
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.leading) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted || !this.leading) return;
      if ((await this.tryAcquireOrRenew(signal)) && this.leading) this.armDeadline();
      else if (this.holder !== '' && this.holder !== this.identity)
        this.lose('another process holds the lease');
    }
  }

  /** One attempt: read the lease (or reuse the one we wrote, while leading), decide, write. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, namespace, name, identity } = this.options;
    const request = AbortSignal.any([signal, AbortSignal.timeout(this.retryPeriodMs)]);
    try {
      // While leading, the lease we last wrote is current unless someone else wrote since (then the
      // update fails with a conflict and the next attempt reads it afresh).
      const lease = this.leading && this.observed ? this.observed.lease : await this.read(request);
      const now = this.clock.now();
      const decision = decideLease(
        lease?.spec,
        this.observed?.at ?? now,
        now,
        identity,
        this.leaseDurationMs,
      );
      if (decision.action === 'wait') return false;
      const written =
        decision.action === 'create'
          ? await client.create(
              Leases,
              { metadata: { namespace, name }, spec: decision.spec },
              { signal: request },
            )
          : await client.update(Leases, { ...lease, spec: decision.spec }, { signal: request });
      this.observe(written);
      return true;
    } catch (err) {
      if (err instanceof ConflictError) this.observed = undefined;
      if (!signal.aborted) this.logger.debug({ err }, 'lease attempt failed');
      return false;
    }
  }

  private async read(signal: AbortSignal): Promise<Lease | undefined> {
    const { client, namespace, name } = this.options;
    try {
      const lease = await client.get(Leases, { namespace, name }, { signal });
      this.observe(lease);
      return lease;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Remembers when this process first saw the lease in this state. */
  private observe(lease: Lease): void {
    if (this.observed?.lease.metadata?.resourceVersion === lease.metadata?.resourceVersion) return;
    this.observed = { lease, at: this.clock.now() };
  }
}
