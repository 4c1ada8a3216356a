/**
 * Test hooks that make the server misbehave on purpose: latency and error answers per verb and
 * resource, conflict storms, dropped watches, forced compaction (410 Gone) and bookmarks on demand.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, conflict } from './status.js';
import type { WatchHub } from './watch-hub.js';

export interface FaultRule {
  /** Matches these verbs (get, list, watch, create, update, patch, delete, deletecollection); all when absent. */
  verb?: string | string[];
  /** Plural resource name (`pods`, `etcdclusters`); all when absent. */
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user?: string;
  /** Answer this HTTP status instead of serving the request. */
  status?: number;
  reason?: string;
  message?: string;
  /** Wait this long before serving (or failing) the request. */
  delayMs?: number;
  /** Hold matching requests until this settles (deterministic races: see `held`). */
  hold?: Promise<unknown>;
  /** How many requests it affects; unlimited when absent. */
  times?: number;
}

export interface RequestFacts {
  verb: string;
  resource?: string;
  group?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user: string;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

interface ActiveRule extends FaultRule {
  remaining: number;
  conflict?: boolean;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  /** How many requests a `hold` rule is holding now. */
  held = 0;

  constructor(private readonly hub: WatchHub) {}

  /** Adds a rule; returns a function that removes it. */
  inject(rule: FaultRule): () => void {
    const active: ActiveRule = { ...rule, remaining: rule.times ?? Infinity };
    this.rules.push(active);
    return () => {
      this.rules = this.rules.filter((r) => r !== active);
    };
  }

  /** The next `times` updates and patches of `resource` answer 409 Conflict, as if someone raced them. */
  conflictStorm(options: { resource: string; times: number; namespace?: string; name?: string }): () => void {
    const active: ActiveRule = {
      verb: ['update', 'patch'],
      ...options,
      remaining: options.times,
      conflict: true,
    };
    this.rules.push(active);
    return () => {
      this.rules = this.rules.filter((r) => r !== active);
    };
  }

  /** Closes every open watch now; `abrupt` destroys the sockets instead of ending the responses. Returns how many. */
  dropWatches(options: { abrupt?: boolean } = {}): number {
    return this.hub.dropAll(options.abrupt ?? false);
  }

  /** Every resourceVersion before now answers 410 Gone on watch (as after etcd compaction). */
  compactHistory(): void {
    this.hub.compact();
  }

  /** Sends a BOOKMARK now to every watch that allows them. */
  sendBookmarks(): void {
    this.hub.bookmarkAll();
  }

  /** Waits out a fault's delay and hold. */
  async wait(fault: { delayMs: number; hold?: Promise<unknown> }): Promise<void> {
    if (fault.delayMs > 0) await sleep(fault.delayMs);
    if (!fault.hold) return;
    this.held++;
    try {
      await fault.hold;
    } finally {
      this.held--;
    }
  }

  /** Removes every rule. */
  clear(): void {
    this.rules = [];
  }

  /** The fault for this request, consuming one use of its rule: a delay and/or an error to answer. */
  take(facts: RequestFacts): { delayMs: number; hold?: Promise<unknown>; error?: ApiError } | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && matches(r, facts));
    if (!rule) return undefined;
    rule.remaining--;
    const error = rule.conflict
      ? conflict({ group: facts.group ?? '', resource: facts.resource ?? '' }, facts.name ?? '')
      : rule.status !== undefined
        ? new ApiError(
            rule.status,
            rule.reason ?? REASONS[rule.status] ?? 'Unknown',
            rule.message ?? `injected fault: ${rule.status}`,
            rule.status === 429 ? { retryAfterSeconds: 1 } : undefined,
          )
        : undefined;
    return {
      delayMs: rule.delayMs ?? 0,
      ...(rule.hold ? { hold: rule.hold } : {}),
      ...(error ? { error } : {}),
    };
  }
}

function matches(rule: FaultRule, f: RequestFacts): boolean {
  const verbs = rule.verb === undefined ? undefined : Array.isArray(rule.verb) ? rule.verb : [rule.verb];
  if (verbs && !verbs.includes(f.verb)) return false;
  if (rule.resource !== undefined && rule.resource !== f.resource) return false;
  if (rule.subresource !== undefined && rule.subresource !== f.subresource) return false;
  if (rule.namespace !== undefined && rule.namespace !== f.namespace) return false;
  if (rule.name !== undefined && rule.name !== f.name) return false;
  return rule.user === undefined || rule.user === f.user;
}
