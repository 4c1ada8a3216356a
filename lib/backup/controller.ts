/**
 * The EtcdBackup controller: for each key, observe (the backup, read fresh, and its cluster) → plan
 * (lib/backup/plan.ts) → act (lib/backup/execute.ts). One key is never reconciled twice at once, so
 * runs of one backup never overlap. A change to an EtcdCluster queues the backups that name it, so
 * that a backup waiting for its cluster runs as soon as the cluster exists and has quorum.
 */
import { parseEtcdBackup } from '../api/index.js';
import type { EtcdBackup, EtcdCluster } from '../../generated/types.js';
import { TerminalError, ValidationError, isNotFound } from '../errors.js';
import type { Cache } from '../kube/cache.js';
import type { ObjectKey } from '../kube/keys.js';
import type { KubeReader, KubeWriter } from '../kube/client.js';
import { systemClock, type Clock } from '../kube/clock.js';
import { Controller, watch } from '../kube/controller.js';
import type { EventRecorder } from '../kube/events.js';
import { silentLogger, type Logger } from '../kube/logger.js';
import type { KubeMetrics } from '../kube/metrics.js';
import { EtcdBackups, EtcdClusters } from '../kube/resources.js';
import {
  recordClusterMissing,
  runBackup,
  settleInterruptedRun,
  writeStatus,
  type BackupDeps,
} from './execute.js';
import type { BackupMetrics } from './metrics.js';
import { planBackup, type ObservedCluster } from './plan.js';
import type { ClaimDirectory } from './stores.js';
import { waitingStatus } from './status.js';

export interface EtcdBackupControllerOptions {
  client: KubeReader & Pick<KubeWriter, 'patch'>;
  cache: Cache;
  recorder: EventRecorder;
  logger?: Logger;
  metrics?: KubeMetrics;
  backupMetrics?: BackupMetrics;
  clock?: Clock;
  concurrency?: number;
  /** Where this process sees PersistentVolumeClaims (--backup-volume-root). */
  claimDir?: ClaimDirectory;
  verifyByRestore?: BackupDeps['verifyByRestore'];
}

const FIELD_MANAGER = 'etcd-operator';

export function createEtcdBackupController(options: EtcdBackupControllerOptions): Controller {
  const clock = options.clock ?? systemClock;
  return new Controller(
    {
      name: 'etcdbackup',
      for: EtcdBackups,
      concurrency: options.concurrency ?? 2,
      watches: [watch(EtcdClusters, (cluster) => backupsOf(options.cache, cluster))],
      reconcile: async (key, context) => {
        // Read fresh, not from the cache: a pass must see the status the previous pass wrote, or it
        // would take a finished run for an interrupted one.
        let stored: EtcdBackup;
        try {
          stored = await options.client.get(EtcdBackups, key, { signal: context.signal });
        } catch (err) {
          if (isNotFound(err)) return;
          throw err;
        }
        if (stored.metadata.deletionTimestamp) return;
        let backup: EtcdBackup;
        try {
          backup = parseEtcdBackup(stored).object;
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          await options.recorder.event(stored, 'Warning', 'InvalidSpec', err.message);
          throw new TerminalError(err.message, { cause: err });
        }
        const cluster = await findCluster(options.cache, backup);
        const now = new Date(clock.now());
        const action = planBackup({ backup, cluster: cluster && observeCluster(cluster), now });
        context.logger.debug({ action: action.kind }, 'planned');
        const deps: BackupDeps = {
          client: options.client,
          cache: options.cache,
          recorder: options.recorder,
          logger: context.logger,
          clock,
          fieldManager: FIELD_MANAGER,
          signal: context.signal,
          ...(options.claimDir ? { claimDir: options.claimDir } : {}),
          ...(options.backupMetrics ? { metrics: options.backupMetrics } : {}),
          ...(options.verifyByRestore ? { verifyByRestore: options.verifyByRestore } : {}),
        };
        switch (action.kind) {
          case 'settle':
            await settleInterruptedRun(backup, action.run, deps);
            return { requeueAfter: 1 };
          case 'run':
            await runBackup(backup, cluster!, action.scheduledTime, deps);
            return { requeueAfter: 1 };
          case 'cluster-missing':
            await recordClusterMissing(backup, deps);
            return { requeueAfter: action.retryAfterMs };
          case 'wait':
            await writeStatus(backup, waitingStatus(backup, action.nextScheduleTime, now), deps);
            // Said once, when the wait for the next time begins.
            if (action.missed && backup.status?.nextScheduleTime !== action.nextScheduleTime?.toISOString()) {
              await options.recorder.event(
                backup,
                'Warning',
                'MissedSchedule',
                `the run due at ${action.missed.toISOString()} passed its starting deadline; waiting for ${action.nextScheduleTime?.toISOString()}`,
              );
            }
            return action.requeueAfterMs === undefined ? undefined : { requeueAfter: action.requeueAfterMs };
        }
      },
    },
    {
      cache: options.cache,
      clock,
      logger: options.logger ?? silentLogger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    },
  );
}

function backupsOf(cache: Cache, cluster: EtcdCluster): ObjectKey[] {
  const namespace = cluster.metadata.namespace ?? '';
  return cache
    .informer(EtcdBackups)
    .list({ namespace })
    .filter((b) => b.spec?.clusterName === cluster.metadata.name)
    .map((b) => ({ namespace, name: b.metadata.name ?? '' }));
}

function observeCluster(cluster: EtcdCluster): ObservedCluster {
  const available = cluster.status?.conditions?.find((c) => c.type === 'Available' && c.status === 'True');
  return available?.lastTransitionTime ? { availableSince: new Date(available.lastTransitionTime) } : {};
}

async function findCluster(cache: Cache, backup: EtcdBackup): Promise<EtcdCluster | undefined> {
  try {
    return await cache.get(EtcdClusters, {
      namespace: backup.metadata.namespace ?? '',
      name: backup.spec.clusterName,
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
