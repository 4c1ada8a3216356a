/**
 * `kubectl etcd member list|add|remove|promote`: etcd's membership, by hand. Adding and removing
 * ask first (`--yes` answers for scripts); removing refuses to cost quorum and moves leadership
 * away from the member first.
 */
import type { Argv, CommandModule } from 'yargs';
import type { EtcdConnection, EtcdTarget } from '../../lib/access/index.js';
import type { Member, MemberList } from '../../lib/etcd/admin.js';
import { resolveMember } from '../../lib/etcd/member-id.js';
import { canRemoveWithoutLosingQuorum } from '../../lib/etcd/quorum.js';
import { ConflictError, UsageError } from '../../lib/errors.js';
import { withConnection, withSession } from '../command.js';
import { requireFormat, type GlobalArgs } from '../options.js';
import { renderData } from '../output/print.js';
import { renderTable } from '../output/table.js';
import { confirm } from '../prompt.js';
import { byMemberName } from '../reports/status.js';
import type { Session } from '../session.js';

type ClusterArgs = GlobalArgs & { CLUSTER: string };
type MemberArgs = ClusterArgs & { MEMBER: string; yes?: boolean };
type AddArgs = ClusterArgs & { NAME: string; peerUrls: string; learner?: boolean; yes?: boolean };

const cluster = <T>(y: Argv<T>) =>
  y.positional('CLUSTER', { type: 'string', demandOption: true, describe: 'The EtcdCluster' });
const member = <T>(y: Argv<T>) =>
  cluster(y).positional('MEMBER', { type: 'string', demandOption: true, describe: 'Member name or hex ID' });
const yes = <T>(y: Argv<T>) =>
  y.option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation' });

const listCommand: CommandModule<GlobalArgs, ClusterArgs> = {
  command: 'list CLUSTER',
  describe: 'List the members: ID, name, started or not, URLs, learner',
  builder: (y) => cluster(y),
  handler: (args) =>
    onCluster(args, async (_session, { admin, members: pods }) => {
      const list = await admin.memberList();
      const members = [...list.members].sort(byMemberName);
      if (args.output === 'name') {
        process.stdout.write(members.map((m) => `member/${m.name || m.id}\n`).join(''));
        return;
      }
      const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
      if (format === 'json' || format === 'yaml') {
        process.stdout.write(
          await renderData({ clusterId: list.clusterId, members: members.map(memberJson) }, format),
        );
        return;
      }
      const podOf = (m: Member) => pods.find((p) => p.member === m.name)?.pod;
      process.stdout.write(
        renderTable(
          members,
          [
            { header: 'id', value: (m) => m.id },
            { header: 'name', value: (m) => m.name },
            { header: 'status', value: (m) => (m.name !== '' ? 'started' : 'unstarted') },
            { header: 'learner', value: (m) => m.isLearner },
            { header: 'pod', value: podOf, wide: true },
            { header: 'peer urls', value: (m) => m.peerURLs.join(',') },
            { header: 'client urls', value: (m) => m.clientURLs.join(',') },
          ],
          { wide: format === 'wide', noHeaders: args.noHeaders ?? false },
        ),
      );
    }),
};

const addCommand: CommandModule<GlobalArgs, AddArgs> = {
  command: 'add CLUSTER NAME',
  describe: 'Add a member (start its etcd with the printed environment)',
  builder: (y) =>
    yes(
      cluster(y)
        .positional('NAME', { type: 'string', demandOption: true, describe: "The new member's name" })
        .option('peer-urls', {
          type: 'string',
          demandOption: true,
          describe: 'Its peer URLs, comma-separated',
        })
        .option('learner', { type: 'boolean', describe: 'Add it as a learner (promote it when caught up)' }),
    ) as unknown as Argv<AddArgs>,
  handler: (args) =>
    onCluster(args, async (_session, { admin, target }) => {
      const peerURLs = args.peerUrls.split(',').filter((u) => u !== '');
      if (peerURLs.length === 0) throw new UsageError('--peer-urls names no URL');
      warnIfManaged(target, 'adds members itself: `kubectl etcd scale` is the way to grow it');
      await confirm(
        `add ${args.learner ? 'learner' : 'member'} ${args.NAME} (${peerURLs.join(',')}) to ${target.namespace}/${target.name}`,
        { yes: args.yes ?? false },
      );
      const result = await admin.memberAdd(peerURLs, { learner: args.learner ?? false });
      if (args.output === 'json' || args.output === 'yaml') {
        process.stdout.write(
          await renderData(
            {
              clusterId: result.clusterId,
              member: memberJson(result.member),
              members: result.members.map(memberJson),
            },
            args.output,
          ),
        );
        return;
      }
      const initialCluster = result.members
        .flatMap((m) => m.peerURLs.map((url) => `${m.id === result.member.id ? args.NAME : m.name}=${url}`))
        .join(',');
      process.stdout.write(
        [
          `Member ${result.member.id} added to cluster ${result.clusterId}`,
          '',
          `ETCD_NAME="${args.NAME}"`,
          `ETCD_INITIAL_CLUSTER="${initialCluster}"`,
          `ETCD_INITIAL_ADVERTISE_PEER_URLS="${peerURLs.join(',')}"`,
          'ETCD_INITIAL_CLUSTER_STATE="existing"',
          '',
        ].join('\n'),
      );
    }),
};

const removeCommand: CommandModule<GlobalArgs, MemberArgs> = {
  command: 'remove CLUSTER MEMBER',
  describe: 'Remove a member, if the cluster keeps quorum without it (leadership moves away first)',
  builder: (y) => yes(member(y)),
  handler: (args) =>
    onCluster(args, async (_session, { admin, target }) => {
      const list = await admin.memberList();
      const victim = resolveMember(list.members, args.MEMBER);
      const statuses = await admin.statusAll();
      const healthy = statuses.flatMap((s) => ('error' in s ? [] : [s.memberId]));
      if (!canRemoveWithoutLosingQuorum(list.members, healthy, victim.id)) {
        throw new ConflictError(
          `removing ${describe(victim)} would leave the cluster without a healthy quorum (${healthy.length} of ${list.members.length} members answer); bring the others back first`,
        );
      }
      warnIfManaged(target, 'will replace the member: `kubectl etcd scale` is the way to shrink it');
      await confirm(`remove member ${describe(victim)} from ${target.namespace}/${target.name}`, {
        yes: args.yes ?? false,
      });
      const leader = statuses.find((s) => !('error' in s) && s.isLeader);
      if (leader && !('error' in leader) && leader.memberId === victim.id) {
        const heir = list.members.find((m) => m.id !== victim.id && !m.isLearner && healthy.includes(m.id));
        if (heir) {
          await admin.moveLeader(heir.id);
          process.stderr.write(`moved leadership from ${describe(victim)} to ${describe(heir)}\n`);
        }
      }
      const after = await admin.memberRemove(victim.id);
      await printResult(args, `Member ${describe(victim)} removed from cluster ${after.clusterId}`, after);
    }),
};

const promoteCommand: CommandModule<GlobalArgs, MemberArgs> = {
  command: 'promote CLUSTER MEMBER',
  describe: 'Promote a learner that has caught up to a voting member',
  builder: (y) => member(y),
  handler: (args) =>
    onCluster(args, async (_session, { admin }) => {
      const learner = resolveMember((await admin.memberList()).members, args.MEMBER);
      if (!learner.isLearner) throw new UsageError(`${describe(learner)} is not a learner`);
      const after = await admin.memberPromote(learner.id);
      await printResult(args, `Member ${describe(learner)} promoted in cluster ${after.clusterId}`, after);
    }),
};

export const memberCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'member <command>',
  describe: 'List, add, remove or promote members',
  builder: (y) =>
    y
      .command(listCommand as never)
      .command(addCommand as never)
      .command(removeCommand as never)
      .command(promoteCommand as never)
      .demandCommand(1, 'name a member command: list, add, remove or promote'),
  handler: () => undefined,
};

function onCluster<A extends ClusterArgs>(
  args: A,
  use: (session: Session, connection: EtcdConnection) => Promise<void>,
): Promise<void> {
  return withSession(args, async (session) => {
    const target = await session.target(args.CLUSTER);
    await withConnection(session, target, (connection) => use(session, connection));
  });
}

function describe(m: Member): string {
  return m.name ? `${m.name} (${m.id})` : m.id;
}

function memberJson(m: Member) {
  return {
    id: m.id,
    name: m.name,
    started: m.name !== '',
    isLearner: m.isLearner,
    peerURLs: m.peerURLs,
    clientURLs: m.clientURLs,
  };
}

function warnIfManaged(target: EtcdTarget, what: string): void {
  if (target.cluster) {
    process.stderr.write(
      `warning: ${target.namespace}/${target.name} is managed by the operator, which ${what}\n`,
    );
  }
}

async function printResult(args: GlobalArgs, line: string, after: MemberList): Promise<void> {
  if (args.output === 'json' || args.output === 'yaml') {
    process.stdout.write(
      await renderData({ clusterId: after.clusterId, members: after.members.map(memberJson) }, args.output),
    );
  } else process.stdout.write(`${line}\n`);
}
