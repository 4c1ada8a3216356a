/**
 * `kubectl etcd health [CLUSTER]`: etcdctl's health check on every member (a linearizable read
 * that succeeds, and no alarm); exits 2 when a member is not healthy.
 */
import type { CommandModule } from 'yargs';
import { UnavailableError } from '../../lib/errors.js';
import { acrossClusters, withSession } from '../command.js';
import { unreachable } from '../failures.js';
import { requireFormat, type GlobalArgs } from '../options.js';
import { renderData } from '../output/print.js';
import { renderTable } from '../output/table.js';

type Args = GlobalArgs & { CLUSTER?: string };

interface MemberHealth {
  namespace: string;
  cluster: string;
  name: string;
  pod: string;
  healthy: boolean;
  tookMs: number;
  error?: string;
}

type Checked = MemberHealth & { cause?: Error };

export const healthCommand: CommandModule<GlobalArgs, Args> = {
  command: 'health [CLUSTER]',
  describe: 'Check that every member serves linearizable reads and has no alarm',
  builder: (y) =>
    y.positional('CLUSTER', { type: 'string', describe: 'The EtcdCluster (default: every one)' }),
  handler: (args) =>
    withSession(args, async (session) => {
      const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
      const results = await acrossClusters(session, args.CLUSTER, (connection) =>
        Promise.all(
          connection.members.map(async (m): Promise<Checked> => {
            const started = performance.now();
            const h = await connection.admin.health(m.endpoint);
            return {
              namespace: connection.target.namespace,
              cluster: connection.target.name,
              name: m.member,
              pod: m.pod,
              healthy: h.healthy,
              tookMs: Math.round(performance.now() - started),
              ...(h.error ? { error: h.error } : {}),
              ...(h.healthy ? {} : { cause: connection.failure(m.endpoint) }),
            };
          }),
        ),
      );
      if (!results) return;
      if (format === 'json' || format === 'yaml') {
        process.stdout.write(await renderData({ members: results.map(({ cause: _, ...r }) => r) }, format));
      } else {
        process.stdout.write(
          renderTable(
            results,
            [
              ...(session.allNamespaces && !args.CLUSTER
                ? [{ header: 'namespace', value: (r: MemberHealth) => r.namespace }]
                : []),
              { header: 'cluster', value: (r) => r.cluster },
              { header: 'member', value: (r) => r.name },
              { header: 'pod', value: (r) => r.pod, wide: true },
              { header: 'health', value: (r) => (r.healthy ? 'healthy' : 'unhealthy') },
              { header: 'took', value: (r) => `${r.tookMs}ms` },
              { header: 'error', value: (r) => r.error },
            ],
            { wide: format === 'wide', noHeaders: args.noHeaders ?? false },
          ),
        );
      }
      const sick = results.flatMap((r) =>
        r.healthy ? [] : [{ member: r.name, error: r.cause ?? new UnavailableError(r.error ?? 'unhealthy') }],
      );
      const failure = unreachable(sick, results.length, 'are not healthy');
      if (failure) throw failure;
    }),
};
