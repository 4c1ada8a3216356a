/**
 * The controllers etcd-operator runs. Each entry builds one Controller from the shared runtime.
 */
import type { Registry } from 'prom-client';
import {
  createBackupMetrics,
  createEtcdBackupController,
  searchPath,
  storedSnapshotVerifier,
  type ClaimDirectory,
} from '../lib/backup/index.js';
import { createEtcdClusterController } from '../lib/cluster/index.js';
import type {
  Cache,
  Clock,
  Controller,
  EventRecorder,
  KubeClient,
  KubeMetrics,
  Logger,
} from '../lib/kube/index.js';

/** What every controller is built from: one client, one cache, one recorder for the whole process. */
export interface OperatorRuntime {
  client: KubeClient;
  cache: Cache;
  recorder: EventRecorder;
  logger: Logger;
  clock: Clock;
  metrics: KubeMetrics;
  /** The /metrics registry, for controllers' own metrics. */
  registry: Registry;
  /** Resources of one kind reconciled at once (--concurrency). */
  concurrency: number;
  replaceUnhealthyAfterMs: number;
  /** Where volume backups find their claims (--backup-volume-root, or the sandbox's runtime). */
  claimDir?: ClaimDirectory;
  failpoint?: 'after-member-add';
  /** Called when the process stops, after the controllers. */
  onClose: (close: () => void) => void;
}

export type ControllerFactory = (runtime: OperatorRuntime) => Controller;

const etcdClusters: ControllerFactory = (runtime) => {
  const { failpoint, registry: _, claimDir, ...shared } = runtime;
  const { controller, close } = createEtcdClusterController({
    ...shared,
    ...(claimDir ? { claimDir } : {}),
    ...(failpoint ? { failpoint: crashAt(failpoint) } : {}),
  });
  runtime.onClose(close);
  return controller;
};

/** A failpoint that kills the process as a crash would: no cleanup, no lease hand-back. */
function crashAt(point: string) {
  return (name: string) => {
    if (name === point) process.kill(process.pid, 'SIGKILL');
  };
}

const etcdBackups: ControllerFactory = (runtime) =>
  createEtcdBackupController({
    client: runtime.client,
    cache: runtime.cache,
    recorder: runtime.recorder,
    logger: runtime.logger,
    metrics: runtime.metrics,
    backupMetrics: createBackupMetrics(runtime.registry),
    clock: runtime.clock,
    concurrency: runtime.concurrency,
    ...(runtime.claimDir ? { claimDir: runtime.claimDir } : {}),
    // verify: Restore runs etcd-<minor> and etcdutl-<minor> from the operator image's PATH.
    verifyByRestore: storedSnapshotVerifier({ binDirs: searchPath(process.env.PATH) }),
  });

export const controllers: readonly ControllerFactory[] = [etcdClusters, etcdBackups];
