/**
 * The EtcdCluster controller: for each key, observe → plan → execute. Owns the member Pods and
 * claims, the Services, the PodDisruptionBudget and the TLS Secrets, so that any change to them
 * brings the cluster back for another pass.
 */
import { parseEtcdCluster, type RestoredFrom } from '../api/index.js';
import { TerminalError, ValidationError, isNotFound } from '../errors.js';
import type { Cache } from '../kube/cache.js';
import type { KubeStatusWriter, KubeWriter } from '../kube/client.js';
import { systemClock, type Clock } from '../kube/clock.js';
import { Controller } from '../kube/controller.js';
import type { EventRecorder } from '../kube/events.js';
import { formatKey } from '../kube/keys.js';
import { silentLogger, type Logger } from '../kube/logger.js';
import type { KubeMetrics } from '../kube/metrics.js';
import {
  EtcdClusters,
  PersistentVolumeClaims,
  PodDisruptionBudgets,
  Pods,
  Secrets,
  Services,
} from '../kube/resources.js';
import { KeyPool } from '../tls/key-pool.js';
import { EtcdConnections } from './connections.js';
import { execute, type ExecuteDeps } from './execute.js';
import { observe } from './observe.js';
import { plan } from './plan.js';
import { observeRestore } from './restore-observe.js';
import type { ClaimDirectory } from '../backup/stores.js';

export interface EtcdClusterControllerOptions {
  client: KubeWriter & KubeStatusWriter;
  cache: Cache;
  recorder: EventRecorder;
  logger?: Logger;
  metrics?: KubeMetrics;
  clock?: Clock;
  /** A started member unhealthy this long is replaced while quorum holds (default 5 minutes). */
  replaceUnhealthyAfterMs?: number;
  concurrency?: number;
  /** Deadline of each etcd call made while observing (default 3 s). */
  etcdTimeoutMs?: number;
  failpoint?: ExecuteDeps['failpoint'];
  /** Where volume backups' claims are mounted into this process, for clusters restored from them. */
  claimDir?: ClaimDirectory;
  /** The image of the restore agent in restored members' init containers (DEFAULT_AGENT_IMAGE). */
  agentImage?: string;
}

export const FIELD_MANAGER = 'etcd-operator';

export function createEtcdClusterController(options: EtcdClusterControllerOptions): {
  controller: Controller;
  close: () => void;
} {
  const clock = options.clock ?? systemClock;
  const connections = new EtcdConnections(options.etcdTimeoutMs);
  const config = {
    replaceUnhealthyAfterMs: options.replaceUnhealthyAfterMs ?? 5 * 60_000,
    ...(options.agentImage ? { agentImage: options.agentImage } : {}),
  };
  const pins = new Map<string, RestoredFrom>();
  // The keys of one new cluster, ready before it is asked for.
  const keys = new KeyPool(4);
  keys.fill();

  const controller = new Controller(
    {
      name: 'etcdcluster',
      for: EtcdClusters,
      owns: [Pods, PersistentVolumeClaims, Services, PodDisruptionBudgets, Secrets],
      concurrency: options.concurrency ?? 4,
      reconcile: async (key, context) => {
        let cluster;
        try {
          cluster = await options.cache.get(EtcdClusters, key);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          connections.forget(formatKey(key));
          return;
        }
        try {
          parseEtcdCluster(cluster);
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          // Stored without our admission rules (a real API server without the webhook): say why, stop.
          await options.recorder.event(cluster, 'Warning', 'InvalidSpec', err.message);
          throw new TerminalError(err.message, { cause: err });
        }
        const observation = await observe(cluster, {
          cache: options.cache,
          etcd: { admin: (_, endpoints, tls) => connections.admin(formatKey(key), endpoints, tls) },
          now: () => new Date(clock.now()),
        });
        const restore = await observeRestore(cluster, {
          kube: options.cache,
          pins,
          now: () => new Date(clock.now()),
          signal: context.signal,
          ...(options.claimDir ? { claimDir: options.claimDir } : {}),
        });
        if (restore) observation.observed.restore = restore;
        const decided = plan(observation.observed, config);
        context.logger.debug(
          { phase: decided.situation.phase, membership: decided.membership?.kind },
          'planned',
        );
        const requeueAfter = await execute(observation, decided, {
          client: options.client,
          cache: options.cache,
          recorder: options.recorder,
          logger: context.logger,
          fieldManager: FIELD_MANAGER,
          privateKeys: (count) => keys.take(count),
          ...(options.failpoint ? { failpoint: options.failpoint } : {}),
        });
        return { requeueAfter };
      },
    },
    {
      cache: options.cache,
      clock,
      logger: options.logger ?? silentLogger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    },
  );
  return { controller, close: () => connections.closeAll() };
}
