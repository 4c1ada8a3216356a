/**
 * The operator's object graph: one client, one cache, one event recorder and one manager (under a
 * leader-election lease when asked) running the registered controllers. run.ts adds the process
 * around it (flags, logs, probes, signals); tests build it directly against a sandbox.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  Cache,
  clientSources,
  createKubeMetrics,
  EventRecorder,
  KubeClient,
  Manager,
  systemClock,
  type Clock,
  type Logger,
} from '../lib/kube/index.js';
import { claimsUnder, type ClaimDirectory } from '../lib/backup/index.js';
import { VERSION } from '../lib/version.js';
import type { OperatorConfig } from './config.js';
import { controllers as registered, type ControllerFactory } from './controllers.js';

export const COMPONENT = 'etcd-operator';

export interface BuildOptions {
  factories?: readonly ControllerFactory[];
  /** The namespace the operator runs in, for the default lease namespace. */
  podNamespace?: string;
  /** Time for every controller; tests jump it forward to reach schedule times. */
  clock?: Clock;
  /** Where volume backups find claims, instead of --backup-volume-root (the sandbox's runtime). */
  claimDir?: ClaimDirectory;
}

export interface Operator {
  manager: Manager;
  client: KubeClient;
  registry: Registry;
  identity: string;
  /** Releases connections; call after `manager.run` has returned. */
  close: () => void;
}

export function buildOperator(
  kubeConfig: KubeConfig,
  config: OperatorConfig,
  logger: Logger,
  options: BuildOptions = {},
): Operator {
  const client = new KubeClient(kubeConfig, { userAgent: `${COMPONENT}/${VERSION}` });
  const identity = `${hostname()}_${randomUUID()}`;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createKubeMetrics(registry);
  const clock = options.clock ?? systemClock;
  const cache = new Cache({
    sources: clientSources(client),
    namespaces: config.namespaces,
    clock,
    logger,
    metrics,
    resyncPeriodMs: config.syncPeriodMs,
  });
  const recorder = new EventRecorder({ client, component: COMPONENT, instance: hostname(), clock, logger });
  const manager = new Manager({
    cache,
    logger,
    leaderElection: config.leaderElect
      ? {
          client,
          namespace: config.leaderElectionNamespace ?? options.podNamespace ?? 'default',
          name: config.leaderElectionId,
          identity,
          leaseDurationMs: config.leaseDurationMs,
          renewDeadlineMs: config.renewDeadlineMs,
          retryPeriodMs: config.retryPeriodMs,
          clock,
          logger,
          metrics,
        }
      : undefined,
  });
  const closers: (() => void)[] = [];
  const claimDir =
    options.claimDir ?? (config.backupVolumeRoot ? claimsUnder(config.backupVolumeRoot) : undefined);
  const runtime = {
    client,
    cache,
    recorder,
    logger,
    clock,
    metrics,
    registry,
    concurrency: config.concurrency,
    replaceUnhealthyAfterMs: config.replaceUnhealthyAfterMs,
    ...(claimDir ? { claimDir } : {}),
    ...(config.failpoint ? { failpoint: config.failpoint } : {}),
    onClose: (close: () => void) => closers.push(close),
  };
  for (const factory of options.factories ?? registered) manager.add(factory(runtime));
  return {
    manager,
    client,
    registry,
    identity,
    close: () => {
      for (const close of closers) close();
      client.close();
    },
  };
}
