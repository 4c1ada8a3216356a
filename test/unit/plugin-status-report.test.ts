import t from 'tap';
import type { EtcdTarget, MemberAccess } from '../../lib/access/index.js';
import type { EndpointStatus, MemberList } from '../../lib/etcd/admin.js';
import { ForbiddenError, UnavailableError } from '../../lib/errors.js';
import { unreachable } from '../../plugin/failures.js';
import { byMemberName, clusterReport, healthWord } from '../../plugin/reports/status.js';

const target = {
  namespace: 'default',
  name: 'demo',
  cluster: { status: { phase: 'Running' } },
  pods: [],
} as unknown as EtcdTarget;
const access = (n: number, phase = 'Running'): MemberAccess => ({
  member: `demo-${n}`,
  pod: `demo-${n}`,
  endpoint: `https://127.0.0.1:100${n}`,
  phase,
});
const id = (n: number) => `000000000000000${n}`;
const status = (n: number, leader: number, extra: Partial<EndpointStatus> = {}): EndpointStatus => ({
  endpoint: `https://127.0.0.1:100${n}`,
  clusterId: 'c1c1c1c1c1c1c1c1',
  memberId: id(n),
  leaderId: id(leader),
  isLeader: n === leader,
  isLearner: false,
  version: '3.5.17',
  dbSize: 20480,
  dbSizeInUse: 16384,
  raftTerm: 2,
  raftIndex: 9,
  raftAppliedIndex: 9,
  revision: 5,
  errors: [],
  ...extra,
});
const member = (n: number, extra: Partial<MemberList['members'][number]> = {}) => ({
  id: id(n),
  name: `demo-${n}`,
  peerURLs: [],
  clientURLs: [],
  isLearner: false,
  ...extra,
});
const list: MemberList = { clusterId: 'c1c1c1c1c1c1c1c1', members: [member(2), member(0), member(1)] };

t.test('each member of the list gets its status, pod, leader flag and health', async (t) => {
  const { report, failures } = clusterReport({
    connection: { target, transport: 'port-forward', members: [access(0), access(1), access(2)] },
    list,
    statuses: [status(0, 1), status(1, 1), status(2, 1)],
    alarms: [],
  });
  t.same(failures, []);
  t.same(
    report.members.map((m) => [m.name, m.pod, m.id, m.isLeader, m.healthy, healthWord(m)]),
    [
      ['demo-0', 'demo-0', id(0), false, true, 'healthy'],
      ['demo-1', 'demo-1', id(1), true, true, 'healthy'],
      ['demo-2', 'demo-2', id(2), false, true, 'healthy'],
    ],
  );
  t.equal(report.leader, 'demo-1');
  t.equal(report.phase, 'Running');
  t.equal(report.clusterId, 'c1c1c1c1c1c1c1c1');
  t.same(Object.keys(report.members[0]!), [
    'name',
    'pod',
    'id',
    'version',
    'dbSize',
    'dbSizeInUse',
    'raftTerm',
    'raftIndex',
    'raftAppliedIndex',
    'revision',
    'isLeader',
    'isLearner',
    'healthy',
    'errors',
    'alarms',
  ]);
});

t.test(
  'an unreachable member keeps its row, with why; alarms and errors make a member unhealthy',
  async (t) => {
    const refused = new ForbiddenError('pods "demo-2" is forbidden');
    const { report, failures } = clusterReport({
      connection: { target, transport: 'port-forward', members: [access(0), access(1), access(2)] },
      list,
      statuses: [
        status(0, 1, { errors: ['memberID:1 alarm:NOSPACE'] }),
        status(1, 1),
        { endpoint: access(2).endpoint, error: refused },
      ],
      alarms: [{ memberId: id(0), alarm: 'NOSPACE' }],
    });
    const [m0, , m2] = report.members;
    t.same([m0?.healthy, m0?.alarms, m0?.errors], [false, ['NOSPACE'], ['memberID:1 alarm:NOSPACE']]);
    t.same([m2?.id, m2?.unreachable, healthWord(m2!)], [id(2), 'pods "demo-2" is forbidden', 'unreachable']);
    t.same(failures, [{ member: 'demo-2', error: refused }]);
  },
);

t.test('members without pods, pods without members, and a list that failed', async (t) => {
  const withLearner: MemberList = {
    ...list,
    members: [...list.members, member(9, { name: '', isLearner: true })],
  };
  const { report } = clusterReport({
    connection: {
      target,
      transport: 'exec',
      members: [access(0), access(1), access(2), access(3, 'Pending')],
    },
    list: withLearner,
    statuses: [
      status(0, 0),
      status(1, 0),
      status(2, 0),
      { endpoint: access(3).endpoint, error: new UnavailableError('no answer') },
    ],
    alarms: [],
  });
  t.same(
    report.members.map((m) => [m.name, m.isLearner, m.unreachable]),
    [
      ['demo-0', false, undefined],
      ['demo-1', false, undefined],
      ['demo-2', false, undefined],
      ['demo-3', false, 'no answer'],
      ['', true, 'not started yet'],
    ],
    'an unstarted learner last; a pod that is no member says why it was not reached',
  );

  const failed = clusterReport({
    connection: { target, transport: 'port-forward', members: [access(0), access(1, 'Pending')] },
    list: new UnavailableError('no endpoint answered'),
    statuses: [status(0, 0), { endpoint: access(1).endpoint, error: new UnavailableError('pod is Pending') }],
    alarms: [],
  });
  t.same(
    failed.report.members.map((m) => [m.name, m.id, m.unreachable]),
    [
      ['demo-0', id(0), undefined],
      ['demo-1', undefined, 'pod is Pending'],
    ],
    'without a member list, rows come from the pods',
  );
});

t.test('member names sort by ordinal, unstarted members last', async (t) => {
  t.same(
    ['demo-10', '', 'demo-2', 'demo-1']
      .map((name) => ({ name }))
      .sort(byMemberName)
      .map((m) => m.name),
    ['demo-1', 'demo-2', 'demo-10', ''],
  );
});

t.test('failures become one typed error: forbidden only when every one is', async (t) => {
  t.equal(unreachable([], 3), undefined);
  const forbidden = unreachable(
    [
      { member: 'demo-0', error: new ForbiddenError('pods "demo-0" is forbidden') },
      {
        member: 'demo-1',
        error: new Error('x', { cause: new ForbiddenError('pods "demo-1" is forbidden') }),
      },
    ],
    3,
  );
  t.type(forbidden, ForbiddenError);
  t.equal(
    forbidden?.message,
    '2 of 3 members could not be reached (demo-0, demo-1): pods "demo-0" is forbidden',
  );
  const mixed = unreachable(
    [
      { member: 'demo-0', error: new ForbiddenError('forbidden') },
      { member: 'demo-1', error: new UnavailableError('down') },
    ],
    2,
    'are not healthy',
  );
  t.type(mixed, UnavailableError);
  t.match(mixed?.message, /^2 of 2 members are not healthy \(demo-0, demo-1\): forbidden$/);
});
