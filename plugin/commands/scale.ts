/**
 * `kubectl etcd scale CLUSTER N [--wait]`: sets the size through the scale subresource (what
 * `kubectl scale` does); with --wait, follows the EtcdCluster's status until the operator reports N
 * healthy voting members, printing each step on stderr.
 */
import type { CommandModule } from 'yargs';
import type { EtcdCluster } from '../../lib/api/index.js';
import {
  EtcdOperatorError,
  InterruptedError,
  NotFoundError,
  UnavailableError,
  UsageError,
} from '../../lib/errors.js';
import type { KubeClient } from '../../lib/kube/client.js';
import { EtcdClusters, type Wire } from '../../lib/kube/resources.js';
import { parseDuration } from '../../lib/api/duration.js';
import { withSession } from '../command.js';
import { onInterrupt } from '../interrupt.js';
import type { GlobalArgs } from '../options.js';
import { byMemberName } from '../reports/status.js';

type Args = GlobalArgs & { CLUSTER: string; N: number; wait?: boolean; timeout: string };
type Cluster = Wire<EtcdCluster>;

export const scaleCommand: CommandModule<GlobalArgs, Args> = {
  command: 'scale CLUSTER N',
  describe:
    'Set the number of members (through the scale subresource); --wait follows the operator until done',
  builder: (y) =>
    y
      .positional('CLUSTER', { type: 'string', demandOption: true, describe: 'The EtcdCluster' })
      .positional('N', { type: 'number', demandOption: true, describe: 'The number of members (1 to 9)' })
      .option('wait', { type: 'boolean', describe: 'Wait until the cluster has N healthy voting members' })
      .option('timeout', { type: 'string', default: '10m', describe: 'How long --wait waits' })
      .example('$0 scale demo 5 --wait', 'grow demo to five members, one at a time'),
  handler: (args) =>
    withSession(args, async (session) => {
      if (!Number.isInteger(args.N) || args.N < 1)
        throw new UsageError(`N must be a whole number of members, not ${args.N}`);
      const timeoutMs = parseDuration(args.timeout);
      if (timeoutMs === undefined)
        throw new UsageError(`--timeout "${args.timeout}" is not a duration (10m, 90s)`);
      const target = await session.target(args.CLUSTER);
      if (!target.cluster) {
        throw new UsageError(
          `${target.namespace}/${target.name} is not an EtcdCluster: only the operator's clusters scale`,
        );
      }
      const key = { namespace: target.namespace, name: target.name };
      await session.kube.scale(EtcdClusters, key, args.N, { fieldManager: 'kubectl-etcd' });
      process.stdout.write(`etcdcluster.etcd.io/${target.name} scaled\n`);
      if (!args.wait) return;
      const { generation } = (await session.kube.get(EtcdClusters, key)).metadata ?? {};
      const interrupt = onInterrupt();
      try {
        await waitForSize(session.kube, key, args.N, generation ?? 0, interrupt.signal, timeoutMs);
      } finally {
        interrupt.dispose();
      }
      process.stdout.write(`etcdcluster.etcd.io/${target.name} has ${args.N} healthy members\n`);
    }),
};

/** Done, failed (an error), or still on the way (undefined). */
export function scaleOutcome(cluster: Cluster, size: number, generation: number): 'done' | Error | undefined {
  const status = cluster.status;
  if (!status || (status.observedGeneration ?? 0) < generation) return undefined;
  if (status.phase === 'Failed') {
    const why = status.conditions?.find((c) => c.status === 'True' && c.type === 'Degraded')?.message;
    return new EtcdOperatorError(`${cluster.metadata?.name ?? ''} failed${why ? `: ${why}` : ''}`);
  }
  const members = status.members ?? [];
  const settled =
    status.phase === 'Running' &&
    status.readyReplicas === size &&
    members.length === size &&
    members.every((m) => !m.isLearner && m.healthy !== false);
  return settled ? 'done' : undefined;
}

/** One line per change a person would care about. */
export function describeProgress(cluster: Cluster, size: number, generation: number): string {
  const status = cluster.status ?? {};
  if ((status.observedGeneration ?? 0) < generation) {
    return `${cluster.metadata?.name ?? ''}: waiting for the operator to take up size ${size}`;
  }
  const members = [...(status.members ?? [])]
    .sort(byMemberName)
    .map((m) => `${m.name}${m.isLearner ? ' (learner)' : ''}${m.healthy === false ? ' (unhealthy)' : ''}`);
  return `${cluster.metadata?.name ?? ''}: ${status.phase ?? 'Pending'}, ${status.readyReplicas ?? 0} of ${size} ready; members: ${members.join(', ') || 'none'}`;
}

async function waitForSize(
  kube: KubeClient,
  key: { namespace: string; name: string },
  size: number,
  generation: number,
  interrupted: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  const timedOut = AbortSignal.timeout(timeoutMs);
  const stop = AbortSignal.any([interrupted, timedOut]);
  let last = '';
  let latest: Cluster | undefined;
  const seen = (cluster: Cluster): boolean => {
    latest = cluster;
    const line = describeProgress(cluster, size, generation);
    if (line !== last) process.stderr.write(`${(last = line)}\n`);
    const outcome = scaleOutcome(cluster, size, generation);
    if (outcome instanceof Error) throw outcome;
    return outcome === 'done';
  };
  try {
    while (!stop.aborted) {
      const current = await kube.get(EtcdClusters, key, { signal: stop });
      if (seen(current)) return;
      const found = new AbortController();
      await kube.watch(
        EtcdClusters,
        {
          namespace: key.namespace,
          fieldSelector: `metadata.name=${key.name}`,
          resourceVersion: current.metadata?.resourceVersion ?? '0',
          timeoutSeconds: 60,
          signal: AbortSignal.any([stop, found.signal]),
        },
        (event) => {
          if (event.type === 'DELETED')
            throw new NotFoundError(`${key.namespace}/${key.name} was deleted while scaling`);
          if (event.type !== 'BOOKMARK' && seen(event.object)) found.abort();
        },
      );
      if (found.signal.aborted) return;
    }
  } catch (err) {
    if (!stop.aborted) throw err;
  }
  if (interrupted.aborted) {
    throw new InterruptedError(`stopped waiting; the operator goes on scaling ${key.name} to ${size}`);
  }
  throw new UnavailableError(
    `${key.name} did not reach ${size} healthy members within ${timeoutMs / 1000}s (${latest ? describeProgress(latest, size, generation) : 'no status'})`,
  );
}
