/**
 * Two etcd-operator processes (operator/run.ts with a probe controller, see
 * test/helpers/kube-probe-operator.ts, bundled as bin/etcd-operator is) against the sandbox API server: exactly one leads; killing
 * the leader hands over within the lease duration; SIGTERM finishes the reconcile in flight, hands
 * the lease back and exits 0; and at no moment do two processes reconcile — checked on the marks
 * file every reconcile appends to, in the order the writes happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { bundle } from '../../hack/bundle.js';
import { Cache, clientSources, ConfigMaps, Leases, type Lease } from '../../lib/kube/index.js';
import { createNamespace, startKubeSandbox, waitFor } from '../helpers/kube-sandbox.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const binDir = t.testdir({ 'package.json': '{ "type": "commonjs" }' });
const PROBE_OPERATOR = join(binDir, 'probe-operator');
await bundle(join(root, 'test/helpers/kube-probe-operator.ts'), PROBE_OPERATOR);

const NAMESPACE = 'probe';
const LEASE = 'etcd-operator.etcd.io';
const LEASE_DURATION_MS = 3000;
const RETRY_PERIOD_MS = 500;

interface LogLine {
  msg?: string;
  identity?: string;
}

class Operator {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly exited: Promise<number | null>;

  constructor(
    /** What the probe writes in the marks file for this process. */
    readonly id: string,
    kubeconfig: string,
    marks: string,
  ) {
    this.child = spawn(
      process.execPath,
      [
        PROBE_OPERATOR,
        `--kubeconfig=${kubeconfig}`,
        `--namespaces=${NAMESPACE}`,
        '--leader-elect',
        `--leader-election-namespace=${NAMESPACE}`,
        `--lease-duration=${LEASE_DURATION_MS}ms`,
        '--renew-deadline=2s',
        `--retry-period=${RETRY_PERIOD_MS}ms`,
        '--health-addr=127.0.0.1:0',
        '--metrics-addr=0',
      ],
      { env: { ...process.env, PROBE_MARKS: marks, PROBE_ID: id }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    createInterface({ input: this.child.stdout! }).on('line', (line) =>
      this.logs.push(JSON.parse(line) as LogLine),
    );
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get identity(): string | undefined {
    return this.logs.find((l) => l.msg === 'starting')?.identity;
  }

  leads(): boolean {
    return this.logs.some((l) => l.msg === 'acquired the lease: leading');
  }
}

/** Reads the marks file; `violations` lists every start while another process had one open. */
function readMarks(file: string) {
  const open = new Map<string, number>();
  const violations: string[] = [];
  const starts = new Map<string, number>();
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  lines.forEach((line, i) => {
    const [what, id = '', name = ''] = line.split(' ');
    if (what === 'start') {
      const others = [...open.entries()]
        .filter(([other, n]) => other !== id && n > 0)
        .map(([other]) => other);
      if (others.length > 0)
        violations.push(`line ${i + 1}: ${id} started ${name} while ${others.join(',')} reconciled`);
      open.set(id, (open.get(id) ?? 0) + 1);
      starts.set(id, (starts.get(id) ?? 0) + 1);
    } else if (what === 'end') open.set(id, (open.get(id) ?? 0) - 1);
    else if (what === 'killed') open.delete(id);
  });
  return { lines, violations, starts };
}

t.test('two operators: one leads, a killed leader hands over, SIGTERM drains and releases', async (t) => {
  const sandbox = await startKubeSandbox(t);
  const admin = sandbox.client();
  await createNamespace(admin, NAMESPACE);
  for (let i = 0; i < 5; i++)
    await admin.create(ConfigMaps, { metadata: { name: `cm-${i}`, namespace: NAMESPACE } });
  const dir = t.testdir();
  const kubeconfig = join(dir, 'kubeconfig');
  sandbox.server.writeKubeconfig(kubeconfig);
  const marks = join(dir, 'marks');
  writeFileSync(marks, '');

  // Every state the Lease goes through, as our own informer sees it.
  const leases: NonNullable<Lease['spec']>[] = [];
  const leaseCache = new Cache({ sources: clientSources(admin), namespaces: [NAMESPACE] });
  const record = (lease: Lease) => {
    if (lease.metadata?.name === LEASE && lease.spec) leases.push(lease.spec);
  };
  leaseCache.informer(Leases).addHandler({ onAdd: record, onUpdate: (_, lease) => record(lease) });
  leaseCache.start();
  t.teardown(() => leaseCache.stop());

  const operators = [new Operator('op1', kubeconfig, marks), new Operator('op2', kubeconfig, marks)];
  t.teardown(async () => {
    for (const op of operators) op.child.kill('SIGKILL');
    await Promise.all(operators.map((op) => op.exited));
  });
  const [a, b] = operators as [Operator, Operator];

  // Exactly one leads.
  const leader = await waitFor('a leader', () => operators.find((op) => op.leads()));
  const standby = leader === a ? b : a;
  await waitFor('the leader to reconcile a while', () =>
    (readMarks(marks).starts.get(leader.id) ?? 0) >= 20 ? true : undefined,
  );
  await waitFor('the standby to start', () => standby.identity);
  t.notOk(standby.leads(), 'the standby does not lead');
  t.same([...readMarks(marks).starts.keys()], [leader.id], 'only the leader reconciled');

  // Killing the leader hands over within the lease duration.
  leader.child.kill('SIGKILL');
  await leader.exited;
  appendFileSync(marks, `killed ${leader.id}\n`);
  await waitFor('the standby to lead', () => (standby.leads() ? true : undefined));
  await waitFor('the new leader to reconcile', () =>
    readMarks(marks).starts.get(standby.id) ? true : undefined,
  );
  const lastRenewal = leases.filter((l) => l.holderIdentity === leader.identity).at(-1)?.renewTime;
  const takeover = leases.find((l) => l.holderIdentity === standby.identity)?.acquireTime;
  const gap = Date.parse(takeover ?? '') - Date.parse(lastRenewal ?? '');
  t.comment(
    `last renewal by the killed leader → takeover: ${gap} ms (lease duration ${LEASE_DURATION_MS} ms)`,
  );
  t.ok(gap >= LEASE_DURATION_MS, 'the standby waited out the lease: no overlap by design');
  t.ok(
    gap <= LEASE_DURATION_MS + 4 * RETRY_PERIOD_MS,
    'and took over within the lease duration plus its retry period',
  );

  // SIGTERM: a third operator stands by; the leader finishes its slow reconcile, hands back the lease, exits 0.
  const third = new Operator('op3', kubeconfig, marks);
  operators.push(third);
  await waitFor('the third operator to start', () => third.identity);
  await admin.patch(
    ConfigMaps,
    { namespace: NAMESPACE, name: 'cm-0' },
    {
      type: 'merge',
      body: { metadata: { annotations: { 'probe/slow': 'true' } } },
    },
  );
  const slowStart = `start ${standby.id} cm-0`;
  await waitFor('a slow reconcile in flight', () => {
    const lines = readMarks(marks).lines;
    const at = lines.lastIndexOf(slowStart);
    return at >= 0 && !lines.slice(at).includes(`end ${standby.id} cm-0`) ? true : undefined;
  });
  appendFileSync(marks, `sigterm ${standby.id}\n`);
  standby.child.kill('SIGTERM');
  t.equal(await standby.exited, 0, 'SIGTERM exits 0');
  const after = readMarks(marks).lines;
  const signalled = after.indexOf(`sigterm ${standby.id}`);
  t.ok(
    after.slice(signalled).includes(`end ${standby.id} cm-0`),
    'the reconcile in flight finished after SIGTERM',
  );
  t.notOk(
    after.slice(signalled).some((l) => l.startsWith(`start ${standby.id} `)),
    'and no new one started',
  );
  await waitFor('the third operator to lead', () => (third.leads() ? true : undefined));
  const released = leases.findIndex((l) => l.holderIdentity === '');
  t.ok(released >= 0, 'the lease was handed back');
  // The lease informer sees the takeover a moment after the new leader logs it.
  const handedTo = await waitFor('the takeover in the lease', () =>
    leases.find((l) => l.holderIdentity === third.identity),
  );
  const quick = Date.parse(handedTo?.acquireTime ?? '') - Date.parse(leases[released]?.renewTime ?? '');
  t.ok(
    quick < LEASE_DURATION_MS,
    `the standby took the released lease at once (${quick} ms), not after it expired`,
  );
  await waitFor('the third operator to reconcile', () =>
    readMarks(marks).starts.get(third.id) ? true : undefined,
  );

  const { violations, starts } = readMarks(marks);
  t.comment(`reconciles per process: ${JSON.stringify(Object.fromEntries(starts))}`);
  t.same(violations, [], 'at no moment did two processes reconcile');
  t.equal(starts.size, 3, 'each of the three led in turn');
});
