/**
 * `kubectl etcd` through the real kubectl against a sandbox running a 3-member TLS EtcdCluster of
 * real etcd: status (table, wide, JSON, YAML, name), member list and changes, health, version,
 * alarms, move-leader, completion, and each kind of bad input as one line and its exit code.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { EXIT } from '../../plugin/exit-codes.js';
import { grant, kubectlEtcd, startPluginCluster, type PluginResult } from '../helpers/plugin.js';
import { expectNothingLeft } from '../helpers/sandbox.js';

const { sandbox, bin, demo, kubectl, etcd } = await startPluginCluster(t, { api: { users: { bob: {} } } });

interface StatusJson {
  clusters: {
    name: string;
    namespace: string;
    phase?: string;
    transport: string;
    leader?: string;
    members: {
      name: string;
      pod?: string;
      id?: string;
      dbSize?: number;
      isLeader: boolean;
      healthy: boolean;
    }[];
  }[];
}

/** A failure is one line on stderr, never a stack trace, with the documented exit code. */
function oneLineError(t: Test, r: PluginResult, code: number, pattern: RegExp): void {
  t.equal(r.code, code, `exit code ${code}`);
  const lines = r.stderr.trimEnd().split('\n');
  t.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
  t.match(lines[0], /^error: /);
  t.match(lines[0], pattern);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

await t.test('status prints a kubectl-style table of every member', async (t) => {
  const r = await etcd('status', 'demo');
  t.equal(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  t.match(
    header,
    /^CLUSTER {3}PHASE {5}MEMBER {3}ID {17}VERSION {3}DB SIZE {3}IN USE {3}LEADER {3}LEARNER {3}HEALTH {4}ERRORS$/,
  );
  t.equal(rows.length, 3, 'one row per member');
  t.same(
    rows.map((row) => row.split(/ {3,}/)[2]),
    ['demo-0', 'demo-1', 'demo-2'],
    'members in ordinal order',
  );
  for (const row of rows) {
    t.match(
      row,
      /^demo {6}Running {3}demo-\d {3}[0-9a-f]{16} {3}3\.5\.\d+ +\d+(\.\d)?Ki +\d+(\.\d)?Ki +(true|false) +false +healthy +<none>$/,
    );
  }
  t.equal(rows.filter((row) => / true +false +healthy/.test(row)).length, 1, 'exactly one leader');
});

await t.test('status -o wide adds pod, raft term and index, revision and alarms', async (t) => {
  const r = await etcd('status', 'demo', '-o', 'wide');
  t.equal(r.code, 0, r.stderr);
  t.match(
    r.stdout.split('\n')[0],
    /HEALTH {4}POD {6}RAFT TERM {3}RAFT INDEX {3}APPLIED INDEX {3}REVISION {3}ALARMS {3}ERRORS$/,
  );
  t.match(r.stdout, /healthy {3}demo-1 {3}\d+ +\d+ +\d+ +\d+ +<none> {3}<none>/);
});

await t.test('status -o json is stable camelCase with hex IDs and sizes in bytes', async (t) => {
  const r = await etcd('status', 'demo', '-o', 'json');
  t.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as StatusJson;
  const cluster = json.clusters[0]!;
  t.same(Object.keys(cluster), [
    'namespace',
    'name',
    'managed',
    'phase',
    'transport',
    'clusterId',
    'leader',
    'members',
  ]);
  t.equal(cluster.transport, 'port-forward');
  t.equal(cluster.phase, 'Running');
  t.same(
    cluster.members.map((m) => m.name),
    ['demo-0', 'demo-1', 'demo-2'],
  );
  for (const m of cluster.members) {
    t.match(m.id, /^[0-9a-f]{16}$/, 'ids as 16 hex digits');
    t.type(m.dbSize, 'number', 'db size in bytes');
    t.equal(m.healthy, true);
  }
  t.equal(
    cluster.members.find((m) => m.isLeader)?.name,
    cluster.leader,
    'the leader field names the leading member',
  );
  const yaml = await etcd('status', 'demo', '-o', 'yaml');
  t.match(yaml.stdout, /^clusters:\n {2}- namespace: default\n {4}name: demo\n/);
});

await t.test('status with no name lists every cluster; -o name and --no-headers', async (t) => {
  const all = await etcd('status', '-A', '--no-headers');
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, /^default {3}demo {3}Running/, 'a NAMESPACE column first, no header');
  const names = await etcd('status', '-o', 'name');
  t.equal(names.stdout, 'etcdcluster.etcd.io/demo\n');
  const empty = await etcd('status', '-n', 'kube-public');
  t.equal(empty.code, 0);
  t.equal(empty.stderr, 'No etcd clusters found in kube-public namespace.\n');
});

await t.test('member list shows IDs, names, started, learner and URLs', async (t) => {
  const r = await etcd('member', 'list', 'demo');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^ID {17}NAME {5}STATUS {4}LEARNER {3}PEER URLS {30}CLIENT URLS\n/);
  t.match(
    r.stdout,
    /[0-9a-f]{16} {3}demo-0 {3}started {3}false {5}https:\/\/demo-0\.demo\.default\.svc:2380 {3}https:\/\/demo-0\.demo\.default\.svc:2379\n/,
  );
  const names = await etcd('member', 'list', 'demo', '-o', 'name');
  t.equal(names.stdout, 'member/demo-0\nmember/demo-1\nmember/demo-2\n');
});

await t.test('health checks every member', async (t) => {
  const r = await etcd('health', 'demo');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.match(/ healthy /g)?.length, 3);
});

await t.test('version prints the plugin, the API server and the cluster versions', async (t) => {
  const r = await etcd('version');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^Client Version: \d+\.\d+\.\d+\nServer Version: v1\.32\.\d+/);
  t.match(
    r.stdout,
    /\nCLUSTER {3}VERSION {3}CURRENT {3}MEMBERS\ndemo {6}3\.5\.9 {5}3\.5\.\d+ +3\.5\.\d+,3\.5\.\d+,3\.5\.\d+\n/,
  );
  const client = await etcd('version', '--client', '--kubeconfig', '/nonexistent');
  t.equal(client.code, 0, '--client needs no cluster');
});

await t.test('alarm list says there is none', async (t) => {
  const r = await etcd('alarm', 'list', 'demo');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, 'No active alarms.\n');
});

await t.test('move-leader hands leadership to the member named', async (t) => {
  const before = JSON.parse((await etcd('status', 'demo', '-o', 'json')).stdout) as StatusJson;
  const heir = before.clusters[0]!.members.find((m) => !m.isLeader)!.name;
  const r = await etcd('move-leader', 'demo', heir);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^leadership moved from demo-\\d to ${heir}\\n$`));
  const after = JSON.parse((await etcd('status', 'demo', '-o', 'json')).stdout) as StatusJson;
  t.equal(after.clusters[0]!.leader, heir);
});

await t.test('member add asks first, and a non-terminal without --yes is an error, not a hang', async (t) => {
  const peer = 'https://demo-9.demo.default.svc:2380';
  const refused = await etcd('member', 'add', 'demo', 'demo-9', `--peer-urls=${peer}`, '--learner');
  oneLineError(
    t,
    { ...refused, stderr: refused.stderr.replace(/^warning: .*\n/, '') },
    EXIT.usage,
    /needs confirmation, and stdin is not a terminal: pass --yes/,
  );
  t.match(refused.stderr, /^warning: default\/demo is managed by the operator/);
  t.equal(
    (await etcd('member', 'list', 'demo', '-o', 'name')).stdout.split('\n').length,
    4,
    'nothing was added',
  );

  const added = await etcd('member', 'add', 'demo', 'demo-9', `--peer-urls=${peer}`, '--learner', '--yes');
  t.equal(added.code, 0, added.stderr);
  const id = /^Member ([0-9a-f]{16}) added to cluster [0-9a-f]{16}$/m.exec(added.stdout)?.[1];
  t.ok(id, 'prints the new member ID');
  t.match(added.stdout, /^ETCD_INITIAL_CLUSTER=".*demo-9=https:\/\/demo-9\.demo\.default\.svc:2380.*"$/m);

  const promote = await etcd('member', 'promote', 'demo', id!);
  oneLineError(t, promote, EXIT.error, /has not caught up with the leader yet/);

  const removed = await etcd('member', 'remove', 'demo', id!, '--yes');
  t.equal(removed.code, 0, removed.stderr);
  t.match(removed.stdout, new RegExp(`^Member ${id} removed from cluster`));
  t.equal(
    (await etcd('member', 'list', 'demo', '-o', 'name')).stdout,
    'member/demo-0\nmember/demo-1\nmember/demo-2\n',
  );
});

await t.test(
  "kubectl completes the plugin's commands, clusters and members through kubectl_complete-etcd",
  async (t) => {
    const words = async (...args: string[]) => {
      const r = await kubectl.run(['__complete', 'etcd', ...args]);
      t.equal(r.code, 0, r.stderr);
      return r.stdout
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith(':'))
        .map((l) => l.split('\t')[0]);
    };
    t.same(await words('st'), ['status']);
    t.same(await words('member', ''), ['list', 'add', 'remove', 'promote']);
    t.same(await words('status', ''), ['demo']);
    t.same(await words('move-leader', 'demo', ''), ['demo-0', 'demo-1', 'demo-2']);
    t.same(await words('status', '-o', ''), ['table', 'wide', 'json', 'yaml', 'name']);
    const script = await etcd('completion', 'bash');
    t.match(script.stdout, /complete -F _kubectl_etcd kubectl-etcd/);
  },
);

await t.test(
  'the half that reaches clusters is compiled only by commands that need it, and cached',
  async (t) => {
    const cache = t.testdir({});
    const env = { KUBECACHEDIR: cache };
    const cached = () =>
      existsSync(join(cache, 'kubectl-etcd')) ? readdirSync(join(cache, 'kubectl-etcd')) : [];
    t.equal((await kubectl.run(['etcd', '--help'], { env })).code, 0);
    t.equal((await kubectl.run(['etcd', 'completion', 'zsh'], { env })).code, 0);
    t.same(cached(), [], '--help and completion never load it');
    t.equal((await kubectl.run(['etcd', 'status', 'demo'], { env })).code, 0);
    t.match(cached(), [/^[0-9a-f]{16}\.v8$/], 'status compiles it and keeps its code cache');
    const again = await kubectl.run(['etcd', 'status', 'demo', '-o', 'name'], { env });
    t.equal(again.stdout, 'etcdcluster.etcd.io/demo\n', 'the next run uses the cache');
  },
);

await t.test('an unknown cluster: exit 4, and what exists instead', async (t) => {
  oneLineError(
    t,
    await etcd('status', 'nope'),
    EXIT.notFound,
    /no etcd cluster "nope" in namespace "default" \(clusters there: demo\)$/,
  );
});

await t.test('the wrong namespace: exit 4, and where the cluster is', async (t) => {
  oneLineError(
    t,
    await etcd('member', 'list', 'demo', '-n', 'kube-public'),
    EXIT.notFound,
    /no etcd cluster "demo" in namespace "kube-public" \(none there\); it is in namespace "default": add -n default$/,
  );
});

await t.test('a missing kubeconfig is named, not replaced by localhost:8080', async (t) => {
  oneLineError(
    t,
    await etcd('status', '--kubeconfig', '/nonexistent/config'),
    EXIT.usage,
    /--kubeconfig \/nonexistent\/config: no such file/,
  );
  const none = await kubectl.run(['etcd', 'status'], { env: { KUBECONFIG: '' } });
  oneLineError(
    t,
    none,
    EXIT.usage,
    /no kubeconfig: .*\.kube\/config does not exist; pass --kubeconfig or set KUBECONFIG$/,
  );
});

await t.test('a broken kubeconfig is named with the reason', async (t) => {
  const file = join(t.testdir({}), 'broken');
  writeFileSync(file, 'apiVersion: v1\nclusters: [\n  - oops\n');
  oneLineError(
    t,
    await etcd('status', '--kubeconfig', file),
    EXIT.usage,
    new RegExp(`kubeconfig ${file} cannot be read: `),
  );
});

await t.test("a user without port-forward rights: exit 6 and the API server's words", async (t) => {
  await grant(sandbox, 'bob', 'default', [
    { apiGroups: ['etcd.io'], resources: ['etcdclusters'], verbs: ['get', 'list'] },
    { apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list'] },
  ]);
  const bob = kubectlEtcd(t, sandbox, bin, 'bob');
  const r = await bob.run(['etcd', 'status', 'demo']);
  oneLineError(
    t,
    r,
    EXIT.forbidden,
    /3 of 3 members could not be reached \(demo-0, demo-1, demo-2\): pods "demo-0" is forbidden: User "bob" cannot create resource "pods\/portforward"/,
  );
  t.match(r.stdout, /demo-0 .* unreachable {3}pods "demo-0" is forbidden/, 'the table says it per member');
  oneLineError(
    t,
    await bob.run(['etcd', 'status', '-A']),
    EXIT.forbidden,
    /cannot list resource "(etcdclusters|pods)" in API group "(etcd.io)?" at the cluster scope/,
  );
});

await t.test('an unreachable member: the others are shown, exit 2 names it', async (t) => {
  sandbox.runtime.faults.pausePod('default', 'demo-2');
  try {
    const r = await etcd('status', 'demo', '--request-timeout', '2s');
    oneLineError(
      t,
      r,
      EXIT.unavailable,
      /^error: 1 of 3 members could not be reached \(demo-2\): etcd status at member demo-2 \(pod default\/demo-2\): no answer within/,
    );
    t.match(r.stdout, /demo-0 .* healthy/);
    t.match(r.stdout, /demo-2 .* unreachable/);
    oneLineError(
      t,
      await etcd(
        'snapshot',
        'save',
        'demo',
        join(t.testdir({}), 's.db'),
        '--member',
        'demo-2',
        '--request-timeout',
        '2s',
      ),
      EXIT.unavailable,
      /member demo-2/,
    );
  } finally {
    sandbox.runtime.faults.resumePod('default', 'demo-2');
  }
});

await t.test('usage errors exit 3', async (t) => {
  oneLineError(t, await etcd('frobnicate'), EXIT.usage, /Unknown argument: frobnicate/);
  oneLineError(
    t,
    await etcd('status', '--request-timeout', 'soon'),
    EXIT.usage,
    /--request-timeout "soon" is not a duration/,
  );
  oneLineError(
    t,
    await etcd('snapshot', 'save', 'demo', 'x.db', '-o', 'name'),
    EXIT.usage,
    /prints -o table\|wide\|json\|yaml, not name/,
  );
});

await t.test('the sandbox stops leaving nothing behind', async (t) => {
  await expectNothingLeft(t, sandbox);
  t.ok(demo.members.length === 3);
});
