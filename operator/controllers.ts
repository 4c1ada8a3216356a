/**
 * The controllers etcd-operator runs. Each entry builds one Controller from the shared runtime;
 * the EtcdCluster and EtcdBackup controllers are added here as they land.
 */
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
}

export type ControllerFactory = (runtime: OperatorRuntime) => Controller;

export const controllers: readonly ControllerFactory[] = [];
