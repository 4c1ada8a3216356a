/**
 * Manager: runs a process's controllers over one cache, under a leader-election lease if asked
 * (controller-runtime's manager). The cache starts at once, so that a standby keeps warm caches;
 * the controllers start only while this process leads.
 *
 * Stopping (the signal aborts): the controllers finish the reconciles in flight, then the lease is
 * handed back, then the cache stops — in that order, so the next leader never overlaps with us.
 * Losing the lease: the controllers stop at once (their reconciles' signals abort) and `run` rejects
 * with a LeadershipLostError; the process should exit then, as controller-runtime's does, since a
 * reconcile that ignores its signal could still be writing.
 */
import { LeadershipLostError } from '../errors.js';
import type { Cache } from './cache.js';
import type { Controller } from './controller.js';
import { LeaderElector, type LeaderElectorOptions } from './leader-election.js';
import { silentLogger, type Logger } from './logger.js';

export interface ManagerOptions {
  cache: Cache;
  /** Absent: no leader election; this process always leads. */
  leaderElection?: Omit<LeaderElectorOptions, 'onLost'>;
  logger?: Logger;
}

export class Manager {
  private readonly controllers: Controller[] = [];
  private readonly logger: Logger;
  private elector: LeaderElector | undefined;
  private leading = false;

  constructor(private readonly options: ManagerOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  add(controller: Controller): void {
    this.controllers.push(controller);
  }

  /** Ready: every informer has its first list. */
  ready(): boolean {
    return this.options.cache.hasSynced();
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Runs until `signal` aborts (resolves after a graceful stop) or the lease is lost (rejects). */
  async run(signal: AbortSignal): Promise<void> {
    const { cache } = this.options;
    cache.start();
    let lost: (err: Error) => void = () => undefined;
    const leadershipLost = new Promise<never>((_, reject) => (lost = reject));
    leadershipLost.catch(() => undefined);
    try {
      if (this.options.leaderElection) {
        this.elector = new LeaderElector({
          ...this.options.leaderElection,
          onLost: () => {
            this.leading = false;
            const err = new LeadershipLostError('lost the leader-election lease');
            for (const controller of this.controllers) controller.abortNow(err);
            lost(err);
          },
        });
        if (!(await this.elector.acquire(signal))) return;
      }
      this.leading = true;
      this.logger.info({ controllers: this.controllers.map((c) => c.name) }, 'starting controllers');
      const aborted = new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      // A stop must not wait for caches that never sync (a kind whose CRD is not installed).
      await Promise.race([
        Promise.all(this.controllers.map((c) => c.start())).then(() => aborted),
        aborted,
        leadershipLost,
      ]);
      this.logger.info({}, 'stopping: finishing the reconciles in flight');
      await Promise.race([Promise.all(this.controllers.map((c) => c.stop())), leadershipLost]);
      this.leading = false;
      await this.elector?.release();
    } finally {
      await cache.stop();
    }
  }
}
