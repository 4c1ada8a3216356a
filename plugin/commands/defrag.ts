/**
 * `kubectl etcd defrag CLUSTER [--member M]`: defragments one member at a time — followers first,
 * the leader last — each only once the cluster is healthy, since a member being defragmented
 * answers nothing. Ctrl-C stops between members (a defragmentation cannot be cut short safely).
 */
import type { Argv, CommandModule } from 'yargs';
import type { EtcdConnection, MemberAccess } from '../../lib/access/index.js';
import type { EndpointStatus, EtcdAdmin } from '../../lib/etcd/admin.js';
import { InterruptedError, NotFoundError, UnavailableError } from '../../lib/errors.js';
import { withConnection, withSession } from '../command.js';
import { onInterrupt } from '../interrupt.js';
import { requireFormat, type GlobalArgs, type OutputFormat } from '../options.js';
import { renderData } from '../output/print.js';
import { renderTable } from '../output/table.js';
import { size } from '../reports/status.js';

type Args = GlobalArgs & { CLUSTER: string; member?: string; healthTimeout: number };

export interface Defragmented {
  member: string;
  id: string;
  before: number;
  after: number;
  tookMs: number;
}

const POLL_MS = 500;

export const defragCommand: CommandModule<GlobalArgs, Args> = {
  command: 'defrag CLUSTER',
  describe: 'Defragment the members one at a time (followers first, leader last), checking health between',
  builder: (y) =>
    y
      .positional('CLUSTER', { type: 'string', demandOption: true, describe: 'The EtcdCluster' })
      .option('member', { type: 'string', describe: 'Only this member (name or pod)' })
      .option('health-timeout', {
        type: 'number',
        default: 60,
        describe: 'Seconds to wait for a member to be healthy again',
      }) as unknown as Argv<Args>,
  handler: (args) =>
    withSession(args, async (session) => {
      const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
      const target = await session.target(args.CLUSTER);
      const interrupt = onInterrupt();
      const done: Defragmented[] = [];
      let stoppedEarly = 0;
      try {
        await withConnection(
          session,
          target,
          async (connection) => {
            const plan = await defragPlan(connection, args.member);
            for (const [i, { access, status }] of plan.entries()) {
              if (interrupt.signal.aborted) {
                stoppedEarly = plan.length - i;
                break;
              }
              await waitHealthy(connection, args.healthTimeout * 1000);
              process.stderr.write(`defragmenting ${access.member}${status.isLeader ? ' (leader)' : ''}…\n`);
              done.push(await defragment(connection.admin, access, status));
            }
            if (stoppedEarly === 0) await waitHealthy(connection, args.healthTimeout * 1000);
          },
          { defragmentTimeoutMs: 10 * 60_000 },
        );
      } finally {
        interrupt.dispose();
        await print(done, format, args.noHeaders ?? false);
      }
      if (stoppedEarly > 0) {
        throw new InterruptedError(
          `interrupted: ${done.length} member(s) defragmented, ${stoppedEarly} left as they were`,
        );
      }
    }),
};

/**
 * The members to defragment, followers first and the leader last. Refuses while any member does
 * not answer: defragmenting another one then could cost quorum.
 */
export async function defragPlan(
  connection: Pick<EtcdConnection, 'admin' | 'members'>,
  only?: string,
): Promise<{ access: MemberAccess; status: EndpointStatus }[]> {
  const statuses = await connection.admin.statusAll();
  const down = statuses.flatMap((s) => ('error' in s ? [s] : []));
  if (down.length > 0) {
    throw new UnavailableError(
      `not defragmenting while ${down.length} member(s) do not answer (${down.map((d) => d.error.message).join('; ')}): fix them first`,
    );
  }
  const plan = connection.members.flatMap((access) => {
    const status = statuses.find(
      (s): s is EndpointStatus => s.endpoint === access.endpoint && !('error' in s),
    );
    return status ? [{ access, status }] : [];
  });
  const chosen =
    only === undefined ? plan : plan.filter(({ access }) => access.member === only || access.pod === only);
  if (chosen.length === 0) {
    throw new NotFoundError(`no member "${only}"; members: ${plan.map((p) => p.access.member).join(', ')}`);
  }
  return chosen.sort((a, b) => Number(a.status.isLeader) - Number(b.status.isLeader));
}

async function defragment(
  admin: EtcdAdmin,
  access: MemberAccess,
  before: EndpointStatus,
): Promise<Defragmented> {
  const started = performance.now();
  await admin.defragment(access.endpoint);
  const after = await admin.status(access.endpoint);
  const result = {
    member: access.member,
    id: before.memberId,
    before: before.dbSize,
    after: after.dbSize,
    tookMs: Math.round(performance.now() - started),
  };
  process.stderr.write(`defragmented ${access.member}: ${size(result.before)} → ${size(result.after)}\n`);
  return result;
}

/** Until every member passes etcd's health check, or the time is up. */
async function waitHealthy(
  connection: Pick<EtcdConnection, 'admin' | 'members'>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const checks = await Promise.all(connection.members.map((m) => connection.admin.health(m.endpoint)));
    const sick = checks.filter((c) => !c.healthy);
    if (sick.length === 0) return;
    if (Date.now() > deadline) {
      const names = sick.map(
        (c) => connection.members.find((m) => m.endpoint === c.endpoint)?.member ?? c.endpoint,
      );
      throw new UnavailableError(
        `stopped: ${names.join(', ')} not healthy after ${timeoutMs / 1000}s (${sick[0]?.error ?? 'unhealthy'})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function print(done: Defragmented[], format: OutputFormat, noHeaders: boolean): Promise<void> {
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(await renderData({ members: done }, format));
    return;
  }
  if (done.length === 0) return;
  process.stdout.write(
    renderTable(
      done,
      [
        { header: 'member', value: (d) => d.member },
        { header: 'id', value: (d) => d.id },
        { header: 'before', value: (d) => size(d.before) },
        { header: 'after', value: (d) => size(d.after) },
        { header: 'freed', value: (d) => size(Math.max(0, d.before - d.after)) },
        { header: 'took', value: (d) => `${(d.tookMs / 1000).toFixed(1)}s` },
      ],
      { noHeaders },
    ),
  );
}
