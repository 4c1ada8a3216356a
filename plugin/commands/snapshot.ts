/**
 * `kubectl etcd snapshot save CLUSTER FILE` streams a healthy member's database to FILE.part,
 * checks etcd's SHA-256 trailer, fsyncs and renames it; Ctrl-C leaves nothing behind and exits 5.
 * `kubectl etcd snapshot status FILE` checks a file and says what it holds.
 */
import type { CommandModule } from 'yargs';
import type { MemberAccess } from '../../lib/access/index.js';
import type { EndpointStatusResult } from '../../lib/etcd/admin.js';
import { NotFoundError, UnavailableError } from '../../lib/errors.js';
import { withConnection, withSession } from '../command.js';
import { unreachable } from '../failures.js';
import { onInterrupt } from '../interrupt.js';
import { requireFormat, type GlobalArgs } from '../options.js';
import { renderData } from '../output/print.js';
import { progress } from '../output/progress.js';
import { renderTable } from '../output/table.js';
import { size } from '../reports/status.js';

type SaveArgs = GlobalArgs & { CLUSTER: string; FILE: string; member?: string };
type StatusArgs = GlobalArgs & { FILE: string };

const saveCommand: CommandModule<GlobalArgs, SaveArgs> = {
  command: 'save CLUSTER FILE',
  describe: 'Save a snapshot of a healthy member (a follower if one is healthy) to FILE',
  builder: (y) =>
    y
      .positional('CLUSTER', { type: 'string', demandOption: true, describe: 'The EtcdCluster' })
      .positional('FILE', { type: 'string', demandOption: true, describe: 'Where to write it' })
      .option('member', {
        type: 'string',
        describe: 'Take it from this member (name or pod)',
      }),
  handler: (args) =>
    withSession(args, async (session) => {
      const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
      const { saveSnapshot } = await import('../core.js');
      const target = await session.target(args.CLUSTER);
      const interrupt = onInterrupt();
      try {
        const result = await withConnection(
          session,
          target,
          async ({ admin, members }) => {
            const source = pickSource(members, await admin.statusAll(), args.member);
            const bar = progress(`snapshot of ${source.member}`);
            try {
              const saved = await saveSnapshot(admin, source.endpoint, args.FILE, {
                signal: interrupt.signal,
                onProgress: (p) => bar.update(p.bytes, p.totalBytes),
              });
              return { file: args.FILE, member: source.member, ...saved };
            } finally {
              bar.finish();
            }
          },
          { signal: interrupt.signal },
        );
        if (format === 'json' || format === 'yaml') {
          process.stdout.write(await renderData(result, format));
          return;
        }
        process.stdout.write(
          renderTable(
            [result],
            [
              { header: 'file', value: (r) => r.file },
              { header: 'member', value: (r) => r.member },
              { header: 'revision', value: (r) => r.revision },
              { header: 'size', value: (r) => size(r.size) },
              { header: 'sha256', value: (r) => r.sha256 },
            ],
            { noHeaders: args.noHeaders ?? false },
          ),
        );
      } finally {
        interrupt.dispose();
      }
    }),
};

const statusCommand: CommandModule<GlobalArgs, StatusArgs> = {
  command: 'status FILE',
  describe: 'Check a snapshot file (its SHA-256 trailer) and show its hash, revision, keys and size',
  builder: (y) =>
    y.positional('FILE', {
      type: 'string',
      demandOption: true,
      describe: 'The snapshot file',
    }),
  handler: async (args) => {
    const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
    const { inspectSnapshot, readSnapshotContent } = await import('../core.js');
    const file = await inspectSnapshot(args.FILE).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new NotFoundError(`${args.FILE}: no such file`, { cause: err }) : err;
    });
    const content = await readSnapshotContent(args.FILE, file.hasDigest ? file.size - 32 : file.size);
    const report = {
      file: args.FILE,
      hash: content.hash.toString(16).padStart(8, '0'),
      revision: content.revision,
      totalKeys: content.totalKeys,
      bucketKeys: content.bucketKeys,
      totalSize: content.totalSize,
      ...(content.storageVersion ? { storageVersion: content.storageVersion } : {}),
      size: file.size,
      sha256: file.sha256,
      digest: file.hasDigest ? 'verified' : 'absent',
    };
    if (format === 'json' || format === 'yaml') {
      process.stdout.write(await renderData(report, format));
      return;
    }
    process.stdout.write(
      renderTable(
        [report],
        [
          { header: 'hash', value: (r) => r.hash },
          { header: 'revision', value: (r) => r.revision },
          { header: 'total keys', value: (r) => r.totalKeys },
          { header: 'bucket keys', value: (r) => r.bucketKeys, wide: true },
          { header: 'total size', value: (r) => size(r.totalSize) },
          { header: 'version', value: (r) => r.storageVersion },
          { header: 'digest', value: (r) => r.digest },
          { header: 'sha256', value: (r) => r.sha256, wide: true },
        ],
        { wide: format === 'wide', noHeaders: args.noHeaders ?? false },
      ),
    );
  },
};

export const snapshotCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'snapshot <command>',
  describe: 'Save a snapshot of a cluster, or check a snapshot file',
  builder: (y) =>
    y
      .command(saveCommand as never)
      .command(statusCommand as never)
      .demandCommand(1, 'name a snapshot command: save or status'),
  handler: () => undefined,
};

/**
 * The member to stream from: the one asked for, else a healthy voting follower (the leader has
 * enough to do), else the leader.
 */
export function pickSource(
  members: readonly MemberAccess[],
  statuses: readonly EndpointStatusResult[],
  wanted?: string,
): MemberAccess {
  if (wanted !== undefined) {
    const named = members.find((m) => m.member === wanted || m.pod === wanted);
    if (!named) {
      throw new NotFoundError(`no member "${wanted}"; members: ${members.map((m) => m.member).join(', ')}`);
    }
    return named;
  }
  const healthy = statuses.flatMap((s) => ('error' in s || s.errors.length > 0 || s.isLearner ? [] : [s]));
  const best = [...healthy].sort((a, b) => Number(a.isLeader) - Number(b.isLeader))[0];
  const source = best && members.find((m) => m.endpoint === best.endpoint);
  if (!source) {
    const failures = statuses.flatMap((s) =>
      'error' in s
        ? [{ member: members.find((m) => m.endpoint === s.endpoint)?.member ?? s.endpoint, error: s.error }]
        : [],
    );
    throw (
      unreachable(failures, members.length, 'could not be asked for a snapshot') ??
      new UnavailableError('no healthy voting member to take a snapshot from')
    );
  }
  return source;
}
