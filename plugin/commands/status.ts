/** `kubectl etcd status [CLUSTER]`: every member of one cluster, or of every cluster in scope. */
import type { CommandModule } from 'yargs';
import type { EtcdTarget } from '../../lib/access/index.js';
import { UnavailableError } from '../../lib/errors.js';
import { nothingFound, withConnection, withSession } from '../command.js';
import type { GlobalArgs } from '../options.js';
import { renderData } from '../output/print.js';
import { renderTable } from '../output/table.js';
import { unreachable, type Failure } from '../failures.js';
import { clusterReport, statusColumns, type ClusterReport, type StatusRow } from '../reports/status.js';
import type { Session } from '../session.js';

type Args = GlobalArgs & { CLUSTER?: string };

export const statusCommand: CommandModule<GlobalArgs, Args> = {
  command: 'status [CLUSTER]',
  describe:
    'Show the members of a cluster (or of every cluster in the namespace): leader, sizes, raft, health',
  builder: (y) =>
    y
      .positional('CLUSTER', { type: 'string', describe: 'The EtcdCluster (or `etcd` for static pods)' })
      .example('$0 status demo', 'the members of demo')
      .example('$0 status -A -o wide', 'every cluster, with pods, raft indexes and alarms'),
  handler: (args) =>
    withSession(args, async (session) => {
      const targets = await session.targets(args.CLUSTER);
      if (targets.length === 0) return nothingFound(session);
      if (args.output === 'name') {
        process.stdout.write(
          targets.map((t) => `${t.cluster ? 'etcdcluster.etcd.io/' : ''}${t.name}\n`).join(''),
        );
        return;
      }
      const gathered = await Promise.all(targets.map((t) => gatherReport(session, t)));
      const reports = gathered.map((g) => g.report);
      if (args.output === 'json' || args.output === 'yaml') {
        process.stdout.write(await renderData({ clusters: reports }, args.output));
      } else {
        const rows = reports.flatMap((cluster) =>
          cluster.members.map((member): StatusRow => ({ cluster, member })),
        );
        process.stdout.write(
          renderTable(rows, statusColumns(session.allNamespaces && args.CLUSTER === undefined), {
            wide: args.output === 'wide',
            noHeaders: args.noHeaders ?? false,
          }),
        );
      }
      const lost = unreachable(
        gathered.flatMap((g) => g.failures),
        reports.reduce((n, r) => n + r.members.length, 0),
      );
      if (lost) throw lost;
    }),
};

/** One cluster's report; a cluster with no pod to reach yet reports that instead of failing the rest. */
export async function gatherReport(
  session: Session,
  target: EtcdTarget,
): Promise<{ report: ClusterReport; failures: Failure[] }> {
  if (target.pods.length === 0) {
    const why = 'no member pods yet';
    const report: ClusterReport = {
      namespace: target.namespace,
      name: target.name,
      managed: target.cluster !== undefined,
      ...(target.cluster?.status?.phase ? { phase: target.cluster.status.phase } : {}),
      transport: 'none',
      members: [
        {
          name: '',
          isLeader: false,
          isLearner: false,
          healthy: false,
          unreachable: why,
          errors: [],
          alarms: [],
        },
      ],
    };
    return { report, failures: [{ member: target.name, error: new UnavailableError(why) }] };
  }
  return withConnection(session, target, async (connection) => {
    const { admin } = connection;
    const [list, statuses, alarms] = await Promise.all([
      admin.memberList().catch((err: Error) => err),
      admin.statusAll(),
      admin.alarmList().catch(() => []),
    ]);
    return clusterReport({ connection, list, statuses, alarms });
  });
}
