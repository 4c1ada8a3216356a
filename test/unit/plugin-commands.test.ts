import { PassThrough } from 'node:stream';
import t from 'tap';
import type { EtcdTarget, MemberAccess } from '../../lib/access/index.js';
import type { EndpointStatus, EndpointStatusResult, EtcdAdmin } from '../../lib/etcd/admin.js';
import { ForbiddenError, SnapshotIntegrityError, UnavailableError } from '../../lib/errors.js';
import { defragPlan } from '../../plugin/commands/defrag.js';
import { describeProgress, scaleOutcome } from '../../plugin/commands/scale.js';
import { pickSource } from '../../plugin/commands/snapshot.js';
import { clusterVersions } from '../../plugin/commands/version.js';
import { progress } from '../../plugin/output/progress.js';
import { confirm } from '../../plugin/prompt.js';
import { snapshotContent } from '../../plugin/snapshot-db.js';

const access = (n: number): MemberAccess => ({
  member: `demo-${n}`,
  pod: `demo-${n}`,
  endpoint: `e${n}`,
  phase: 'Running',
});
const status = (n: number, extra: Partial<EndpointStatus> = {}): EndpointStatus => ({
  endpoint: `e${n}`,
  clusterId: 'c',
  memberId: `m${n}`,
  leaderId: 'm0',
  isLeader: n === 0,
  isLearner: false,
  version: '3.5.17',
  dbSize: 1000 * (n + 1),
  dbSizeInUse: 10,
  raftTerm: 1,
  raftIndex: 1,
  raftAppliedIndex: 1,
  revision: 1,
  errors: [],
  ...extra,
});
const members = [access(0), access(1), access(2)];

t.test(
  'scale --wait is done when the operator reports N healthy voters for the new generation',
  async (t) => {
    const cluster = (status: object, generation = 2) =>
      ({
        metadata: { name: 'demo', generation },
        spec: {},
        status: { observedGeneration: 2, ...status },
      }) as never;
    const five = ['demo-0', 'demo-1', 'demo-2', 'demo-3', 'demo-4'].map((name) => ({ name, healthy: true }));
    t.equal(scaleOutcome(cluster({ phase: 'Running', readyReplicas: 5, members: five }), 5, 2), 'done');
    t.equal(
      scaleOutcome(
        cluster({ phase: 'Running', readyReplicas: 5, members: five, observedGeneration: 1 }),
        5,
        2,
      ),
      undefined,
      'a status of the old spec',
    );
    t.equal(scaleOutcome(cluster({ phase: 'Scaling', readyReplicas: 4, members: five }), 5, 2), undefined);
    const learner = five.map((m, i) => (i === 4 ? { ...m, isLearner: true } : m));
    t.equal(scaleOutcome(cluster({ phase: 'Running', readyReplicas: 5, members: learner }), 5, 2), undefined);
    const failed = scaleOutcome(
      cluster({
        phase: 'Failed',
        conditions: [{ type: 'Degraded', status: 'True', message: 'quorum lost' }],
      }),
      5,
      2,
    );
    t.match(failed, { message: 'demo failed: quorum lost' });
    t.equal(
      describeProgress(
        cluster({
          phase: 'Scaling',
          readyReplicas: 3,
          members: [
            { name: 'demo-10', isLearner: true, healthy: false },
            { name: 'demo-2', healthy: true },
          ],
        }),
        5,
        2,
      ),
      'demo: Scaling, 3 of 5 ready; members: demo-2, demo-10 (learner) (unhealthy)',
    );
    t.equal(describeProgress(cluster({}, 3), 5, 3), 'demo: waiting for the operator to take up size 5');
  },
);

t.test('a snapshot comes from a healthy voting follower, else the leader', async (t) => {
  t.equal(pickSource(members, [status(0), status(1), status(2)]).member, 'demo-1');
  t.equal(
    pickSource(members, [status(0), status(1, { isLearner: true }), status(2, { errors: ['alarm:NOSPACE'] })])
      .member,
    'demo-0',
  );
  t.equal(pickSource(members, [status(0), status(1)], 'demo-2').member, 'demo-2', 'the member asked for');
  t.throws(() => pickSource(members, [], 'demo-9'), {
    name: 'NotFoundError',
    message: 'no member "demo-9"; members: demo-0, demo-1, demo-2',
  });
  t.throws(
    () =>
      pickSource(
        members,
        members.map((m) => ({
          endpoint: m.endpoint,
          error: new ForbiddenError(`pods "${m.pod}" is forbidden`),
        })),
      ),
    {
      name: 'ForbiddenError',
      message:
        /^3 of 3 members could not be asked for a snapshot \(demo-0, demo-1, demo-2\): pods "demo-0" is forbidden$/,
    },
  );
});

t.test('defrag goes through followers first and the leader last, and not while one is down', async (t) => {
  const admin = (statuses: EndpointStatusResult[]) =>
    ({ statusAll: async () => statuses }) as unknown as EtcdAdmin;
  const plan = await defragPlan({ admin: admin([status(0), status(1), status(2)]), members });
  t.same(
    plan.map((p) => p.access.member),
    ['demo-1', 'demo-2', 'demo-0'],
  );
  t.same(
    (await defragPlan({ admin: admin([status(0), status(1), status(2)]), members }, 'demo-0')).map(
      (p) => p.access.member,
    ),
    ['demo-0'],
  );
  await t.rejects(
    defragPlan({
      admin: admin([status(0), { endpoint: 'e1', error: new UnavailableError('no answer') }, status(2)]),
      members,
    }),
    {
      name: 'UnavailableError',
      message: 'not defragmenting while 1 member(s) do not answer (no answer): fix them first',
    },
  );
});

t.test('versions of a static pod come from its image tag', async (t) => {
  const target = {
    namespace: 'kube-system',
    name: 'etcd',
    pods: [{ spec: { containers: [{ name: 'etcd', image: 'registry.k8s.io/etcd:3.5.15-0' }] } }],
  } as unknown as EtcdTarget;
  t.same(clusterVersions(target), {
    namespace: 'kube-system',
    name: 'etcd',
    currentVersion: '3.5.15',
    memberVersions: ['3.5.15'],
  });
});

t.test('progress: a bar redrawn in place on a terminal, a line per tenth otherwise', async (t) => {
  const out: string[] = [];
  const plain = progress('snapshot', { isTTY: false, write: (s: string) => out.push(s) });
  for (const done of [0, 50, 120, 990, 1000]) plain.update(done, 1000);
  plain.finish();
  t.same(out, [
    'snapshot: 0% (0 of 1000)\n',
    'snapshot: 10% (120 of 1000)\n',
    'snapshot: 90% (990 of 1000)\n',
    'snapshot: 100% (1000 of 1000)\n',
  ]);
  const tty: string[] = [];
  const bar = progress('snapshot', { isTTY: true, write: (s: string) => tty.push(s) });
  bar.update(512, 1024);
  bar.finish();
  t.equal(tty[0], `\rsnapshot [${'='.repeat(15)}>${' '.repeat(15)}]  50% 512 of 1Ki\x1b[K`);
  t.equal(tty[1], '\n');
});

t.test('confirmation: --yes, a terminal answering, and no terminal at all', async (t) => {
  await confirm('remove member demo-1', { yes: true });
  await t.rejects(
    confirm('remove member demo-1', { input: Object.assign(new PassThrough(), { isTTY: false }) }),
    {
      name: 'UsageError',
      message: 'remove member demo-1 needs confirmation, and stdin is not a terminal: pass --yes',
    },
  );
  const answer = (text: string) => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    input.end(`${text}\n`);
    return confirm('remove member demo-1', { input, output: new PassThrough() });
  };
  await answer('y');
  await t.rejects(answer('n'), { name: 'UsageError', message: 'not confirmed; nothing was changed' });
});

t.test('a file that is no bolt database is said to be one', async (t) => {
  t.throws(() => snapshotContent(Buffer.alloc(8192)), SnapshotIntegrityError);
  t.throws(() => snapshotContent(Buffer.from('not a database')), {
    message: 'not a bolt database: no valid meta page',
  });
});
