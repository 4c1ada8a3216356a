/** `kubectl etcd move-leader CLUSTER MEMBER`: hands leadership to a healthy voting member. */
import type { CommandModule } from 'yargs';
import { resolveMember } from '../../lib/etcd/member-id.js';
import { UnavailableError, UsageError } from '../../lib/errors.js';
import { withConnection, withSession } from '../command.js';
import { requireFormat, type GlobalArgs } from '../options.js';
import { renderData } from '../output/print.js';

type Args = GlobalArgs & { CLUSTER: string; MEMBER: string };

export const moveLeaderCommand: CommandModule<GlobalArgs, Args> = {
  command: 'move-leader CLUSTER MEMBER',
  describe: 'Transfer leadership to MEMBER (a healthy voting member)',
  builder: (y) =>
    y
      .positional('CLUSTER', { type: 'string', demandOption: true, describe: 'The EtcdCluster' })
      .positional('MEMBER', {
        type: 'string',
        demandOption: true,
        describe: 'Member name or hex ID',
      }),
  handler: (args) =>
    withSession(args, async (session) => {
      const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
      const target = await session.target(args.CLUSTER);
      await withConnection(session, target, async ({ admin }) => {
        const [list, statuses] = await Promise.all([admin.memberList(), admin.statusAll()]);
        const heir = resolveMember(list.members, args.MEMBER);
        if (heir.isLearner)
          throw new UsageError(`${heir.name || heir.id} is a learner: learners cannot lead`);
        const answered = statuses.flatMap((s) => ('error' in s ? [] : [s]));
        const leaderId = answered.find((s) => s.isLeader)?.memberId;
        if (!answered.some((s) => s.memberId === heir.id)) {
          throw new UnavailableError(
            `${heir.name || heir.id} does not answer: it cannot take over leadership`,
          );
        }
        const from = list.members.find((m) => m.id === leaderId);
        if (leaderId !== heir.id) await admin.moveLeader(heir.id);
        const result = {
          from: from?.name ?? leaderId ?? '',
          to: heir.name || heir.id,
          moved: leaderId !== heir.id,
        };
        if (format === 'json' || format === 'yaml') process.stdout.write(await renderData(result, format));
        else if (!result.moved) process.stdout.write(`${result.to} already leads\n`);
        else process.stdout.write(`leadership moved from ${result.from || 'no leader'} to ${result.to}\n`);
      });
    }),
};
