/**
 * The controllers etcd-operator runs. Each entry builds one Controller from the shared runtime;
 * the EtcdCluster and EtcdBackup controllers are added here as they land.
 */
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
  /** Resources of one kind reconciled at once (--concurrency). */
  concurrency: number;
  replaceUnhealthyAfterMs: number;
  failpoint?: 'after-member-add';
  /** Called when the process stops, after the controllers. */
  onClose: (close: () => void) => void;
}

export type ControllerFactory = (runtime: OperatorRuntime) => Controller;

const etcdClusters: ControllerFactory = (runtime) => {
  const { failpoint, ...shared } = runtime;
  const { controller, close } = createEtcdClusterController({
    ...shared,
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

export const controllers: readonly ControllerFactory[] = [etcdClusters];
