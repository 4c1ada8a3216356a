/**
 * The runtime's Prometheus metrics, on a registry the caller owns (never prom-client's global one).
 * Names follow controller-runtime and client-go, so existing dashboards and alerts apply.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface KubeMetrics {
  /** result: success, requeue_after, error, terminal_error. */
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  queueDepth: Gauge<'name'>;
  queueAdds: Counter<'name'>;
  queueRetries: Counter<'name'>;
  /** From add to get: how long a key waited. */
  queueWait: Histogram<'name'>;
  /** From get to done: how long a key was processed. */
  queueWork: Histogram<'name'>;
  /** reason: closed (the server ended it), gone (410, relist), error. */
  watchRestarts: Counter<'informer' | 'reason'>;
  /** 1 while this process holds the lease. */
  leaderStatus: Gauge<'name'>;
}

const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function createKubeMetrics(registry: Registry): KubeMetrics {
  const registers = [registry];
  return {
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Reconciles per controller and result.',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Reconciles that failed, retried or not.',
      labelNames: ['controller'],
      registers,
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'How long a reconcile took.',
      labelNames: ['controller'],
      buckets: SECONDS,
      registers,
    }),
    queueDepth: new Gauge({
      name: 'workqueue_depth',
      help: 'Keys waiting in the work queue.',
      labelNames: ['name'],
      registers,
    }),
    queueAdds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Keys added to the work queue.',
      labelNames: ['name'],
      registers,
    }),
    queueRetries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Keys re-added with back-off after a failure.',
      labelNames: ['name'],
      registers,
    }),
    queueWait: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long a key waited in the queue before it was processed.',
      labelNames: ['name'],
      buckets: SECONDS,
      registers,
    }),
    queueWork: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long processing a key took.',
      labelNames: ['name'],
      buckets: SECONDS,
      registers,
    }),
    watchRestarts: new Counter({
      name: 'informer_watch_restarts_total',
      help: 'Watches started again, by why the previous one ended.',
      labelNames: ['informer', 'reason'],
      registers,
    }),
    leaderStatus: new Gauge({
      name: 'leader_election_master_status',
      help: '1 while this process holds the leader-election lease, else 0.',
      labelNames: ['name'],
      registers,
    }),
  };
}
