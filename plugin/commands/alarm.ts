/** `kubectl etcd alarm list [CLUSTER]` and `kubectl etcd alarm disarm CLUSTER [--member M]`. */
import type { CommandModule } from 'yargs';
import type { Alarm, Member } from '../../lib/etcd/admin.js';
import { resolveMember } from '../../lib/etcd/member-id.js';
import { acrossClusters, withConnection, withSession } from '../command.js';
import { requireFormat, type GlobalArgs, type OutputFormat } from '../options.js';
import { renderData } from '../output/print.js';
import { renderTable } from '../output/table.js';

type ListArgs = GlobalArgs & { CLUSTER?: string };
type DisarmArgs = GlobalArgs & { CLUSTER: string; member?: string };

interface AlarmRow {
  namespace: string;
  cluster: string;
  member: string;
  memberId: string;
  alarm: string;
}

const listCommand: CommandModule<GlobalArgs, ListArgs> = {
  command: 'list [CLUSTER]',
  describe: 'List the active alarms (NOSPACE, CORRUPT)',
  builder: (y) =>
    y.positional('CLUSTER', { type: 'string', describe: 'The EtcdCluster (default: every one)' }),
  handler: (args) =>
    withSession(args, async (session) => {
      const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
      const rows = await acrossClusters(session, args.CLUSTER, async ({ admin, target }) => {
        const [alarms, list] = await Promise.all([admin.alarmList(), admin.memberList()]);
        return alarmRows(alarms, list.members, target);
      });
      if (rows)
        await printAlarms(rows, format, args.noHeaders ?? false, session.allNamespaces && !args.CLUSTER);
    }),
};

const disarmCommand: CommandModule<GlobalArgs, DisarmArgs> = {
  command: 'disarm CLUSTER',
  describe: 'Disarm the active alarms (of every member, or of one) once their cause is fixed',
  builder: (y) =>
    y
      .positional('CLUSTER', { type: 'string', demandOption: true, describe: 'The EtcdCluster' })
      .option('member', {
        type: 'string',
        describe: "Only this member's alarms (name or hex ID)",
      }),
  handler: (args) =>
    withSession(args, async (session) => {
      const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
      const target = await session.target(args.CLUSTER);
      const rows = await withConnection(session, target, async ({ admin }) => {
        const list = await admin.memberList();
        const only = args.member === undefined ? undefined : resolveMember(list.members, args.member).id;
        return alarmRows(await admin.alarmDisarm(only), list.members, target);
      });
      await printAlarms(rows, format, args.noHeaders ?? false, false);
    }),
};

export const alarmCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'alarm <command>',
  describe: 'List or disarm alarms',
  builder: (y) =>
    y
      .command(listCommand as never)
      .command(disarmCommand as never)
      .demandCommand(1, 'name an alarm command: list or disarm'),
  handler: () => undefined,
};

function alarmRows(
  alarms: Alarm[],
  members: Member[],
  target: { namespace: string; name: string },
): AlarmRow[] {
  return alarms.map((a) => ({
    namespace: target.namespace,
    cluster: target.name,
    member: members.find((m) => m.id === a.memberId)?.name ?? '',
    memberId: a.memberId,
    alarm: a.alarm,
  }));
}

async function printAlarms(rows: AlarmRow[], format: OutputFormat, noHeaders: boolean, namespaces: boolean) {
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(await renderData({ alarms: rows }, format));
    return;
  }
  if (rows.length === 0) {
    process.stderr.write('No active alarms.\n');
    return;
  }
  process.stdout.write(
    renderTable(
      rows,
      [
        ...(namespaces ? [{ header: 'namespace', value: (r: AlarmRow) => r.namespace }] : []),
        { header: 'cluster', value: (r) => r.cluster },
        { header: 'member', value: (r) => r.member },
        { header: 'id', value: (r) => r.memberId },
        { header: 'alarm', value: (r) => r.alarm },
      ],
      { noHeaders },
    ),
  );
}
