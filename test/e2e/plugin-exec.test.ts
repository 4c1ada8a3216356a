/**
 * The exec transport against etcd this operator does not manage: a kubeadm-style static etcd pod in
 * kube-system, reached by running etcdctl inside it with the certificate files its own flags name.
 */
import t from 'tap';
import { EXIT } from '../../plugin/exit-codes.js';
import { buildPlugin, createStaticEtcd, kubectlEtcd } from '../helpers/plugin.js';
import { execInPod, expectNothingLeft, startTestSandbox } from '../helpers/sandbox.js';

const sandbox = await startTestSandbox(t);
const bin = await buildPlugin(t);
const staticEtcd = await createStaticEtcd(t, sandbox);
const kubectl = kubectlEtcd(t, sandbox, bin);
const etcd = (...args: string[]) => kubectl.run(['etcd', ...args, '-n', 'kube-system']);

interface StatusJson {
  clusters: {
    name: string;
    managed: boolean;
    transport: string;
    leader?: string;
    members: { name: string; pod?: string; id?: string; revision?: number; healthy: boolean }[];
  }[];
}

await t.test('status finds the static pods and reaches them by exec', async (t) => {
  const r = await etcd('status', '-o', 'json');
  t.equal(r.code, 0, r.stderr);
  const [cluster] = (JSON.parse(r.stdout) as StatusJson).clusters;
  t.equal(cluster?.name, 'etcd');
  t.equal(cluster?.managed, false);
  t.equal(cluster?.transport, 'exec');
  t.equal(cluster?.leader, 'sandbox');
  t.same(
    cluster?.members.map((m) => [m.name, m.pod, m.healthy]),
    [['sandbox', 'etcd-sandbox', true]],
    'the member by its etcd name, with its pod',
  );
  t.match(cluster?.members[0]?.id, /^[0-9a-f]{16}$/);
  const table = await etcd('status', 'etcd-sandbox');
  t.equal(table.code, 0, table.stderr);
  t.match(
    table.stdout,
    /\netcd {6}<none> {3}sandbox {3}[0-9a-f]{16} {3}3\.5\.\d+ .* true {5}false {5}healthy {3}<none>\n$/,
  );
});

await t.test('what is written in the pod shows in the revision', async (t) => {
  const before = (JSON.parse((await etcd('status', 'etcd', '-o', 'json')).stdout) as StatusJson).clusters[0]!;
  const pki = '/etc/kubernetes/pki/etcd';
  const put = await execInPod(sandbox.kubeConfig, 'kube-system', staticEtcd.pod, 'etcd', [
    'etcdctl',
    '--endpoints=https://127.0.0.1:2379',
    `--cacert=${pki}/ca.crt`,
    `--cert=${pki}/server.crt`,
    `--key=${pki}/server.key`,
    'put',
    'written',
    'by-kubeadm',
  ]);
  t.equal(put.exitCode, 0, put.stderr);
  const after = (JSON.parse((await etcd('status', 'etcd', '-o', 'json')).stdout) as StatusJson).clusters[0]!;
  t.equal(after.members[0]?.revision, (before.members[0]?.revision ?? 0) + 1);
});

await t.test('member list, health, alarms and defrag work over exec', async (t) => {
  const list = await etcd('member', 'list', 'etcd');
  t.equal(list.code, 0, list.stderr);
  t.match(
    list.stdout,
    /^ID {17}NAME {6}STATUS {4}LEARNER {3}PEER URLS {15}CLIENT URLS\n[0-9a-f]{16} {3}sandbox {3}started {3}false {5}http:\/\/127\.0\.0\.1:2380 {3}https:\/\/127\.0\.0\.1:2379\n$/,
  );
  const health = await etcd('health');
  t.equal(health.code, 0, health.stderr);
  t.match(health.stdout, /\netcd {6}sandbox {3}healthy {3}\d+ms {3}<none>\n$/);
  const alarms = await etcd('alarm', 'list', 'etcd');
  t.equal(alarms.code, 0, alarms.stderr);
  const defrag = await etcd('defrag', 'etcd');
  t.equal(defrag.code, 0, defrag.stderr);
  t.match(defrag.stdout, /\nsandbox {3}[0-9a-f]{16} /);
});

await t.test('port-forward cannot authenticate to static etcd, and says so', async (t) => {
  const r = await etcd('status', 'etcd', '--transport', 'port-forward');
  t.equal(r.code, EXIT.usage);
  t.equal(
    r.stderr,
    'error: kube-system/etcd is not an EtcdCluster: its client certificate is in no Secret, so port-forward cannot authenticate; use --transport exec\n',
  );
});

await t.test('a snapshot cannot come out through exec: one line, exit 3', async (t) => {
  const r = await etcd('snapshot', 'save', 'etcd', t.testdir({}) + '/s.db');
  t.equal(r.code, EXIT.usage);
  t.match(
    r.stderr,
    /^error: a snapshot of https:\/\/127\.0\.0\.1:2379 cannot be carried out of its pod by exec .*\n$/,
  );
});

await t.test('the sandbox stops leaving nothing behind', async (t) => {
  await expectNothingLeft(t, sandbox);
});
