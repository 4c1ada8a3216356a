/**
 * Start-up of an EtcdCluster: the time from the create request to status Running (every member
 * healthy) through the operator on the sandbox, for sizes 3 and 5, side by side with the floor — the
 * same etcd processes with the same flags started directly until all are healthy, TLS on (the
 * operator's default) and off, all at once and one by one (see startup-floor.ts: etcd's bootstrap
 * check makes "all at once" slow). Goal: the operator's overhead (median apply → Running minus the
 * lower median TLS floor) under 1 s for 3 members and under 1.5 s for 5. Then where the time goes:
 * the steps as they reach the API, etcd's own start from its logs, the operator's reconcile passes.
 *
 *   node --import tsx bench/cluster-startup.ts [--runs 5] [--sizes 3,5] [--poll-ms 20]
 *
 * Needs root (network namespaces for the pods) and etcd 3.5 in the cache (hack/etcd-binaries.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { parseEtcdCluster, type EtcdCluster } from '../lib/api/index.js';
import { REQUEUE } from '../lib/cluster/index.js';
import { EtcdClusters, KubeClient, Namespaces } from '../lib/kube/index.js';
import { findEtcd } from '../sandbox/binaries.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { measureCertificateCost, type CertificateCost } from './certificate-cost.js';
import { longestBootstrapCheck, parseEtcdStart, type EtcdStart } from './etcd-start-log.js';
import { startOperatorProcess, type OperatorLogLine, type OperatorProcess } from './operator-process.js';
import { timeFloor, type FloorSample, type FloorStart } from './startup-floor.js';
import { STEPS, StartupWatch, type StartRecord, type Step } from './startup-timeline.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '3,5' },
    'poll-ms': { type: 'string', default: '20' },
  },
});
const runs = Number(values.runs);
const sizes = values.sizes.split(',').map(Number);
const pollMs = Number(values['poll-ms']);
/** The operator's overhead goal per size, in ms (issue 6). */
const GOALS: Record<number, number> = { 3: 1_000, 5: 1_500 };
const STARTS: FloorStart[] = ['together', 'one-by-one'];
const NAMESPACE = 'bench';
const WITHIN_MS = 120_000;

interface Harness {
  sandbox: Sandbox;
  client: KubeClient;
  watch: StartupWatch;
  operator: OperatorProcess;
}

interface OperatorRun {
  record: StartRecord;
  etcd: EtcdStart[];
  /** The operator's reconcile passes of this cluster from apply to Running ("planned" log lines). */
  passes: OperatorLogLine[];
}

const template = parseEtcdCluster({
  apiVersion: 'etcd.io/v1alpha1',
  kind: 'EtcdCluster',
  metadata: { name: 'bench', namespace: NAMESPACE },
  spec: {},
}).object;
const etcd = findEtcd(template.spec.version);
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(
  `etcd ${etcd.version} (for spec.version ${template.spec.version}), node ${process.version}, ` +
    `${availableParallelism()} CPUs, load average ${load}; ${runs} runs per figure, /health polled every ${pollMs} ms\n`,
);

const certificates: CertificateCost[] = [];
for (let i = 0; i < runs; i++) certificates.push(await measureCertificateCost(template));
const floor = await measureFloor();
const operatorRuns = await measureOperator();
printSummary();
printBreakdown();

// --- measurements ------------------------------------------------------------------------------

function floorKey(size: number, tls: boolean, start: FloorStart): string {
  return `${size}/${tls}/${start}`;
}

function floorSamples(size: number, tls: boolean, start: FloorStart): FloorSample[] {
  return floor.get(floorKey(size, tls, start)) ?? [];
}

/** Every size, TLS on and off, both ways of starting, in turns: a busy moment of the machine hits all alike. */
async function measureFloor(): Promise<Map<string, FloorSample[]>> {
  const samples = new Map<string, FloorSample[]>();
  for (let i = 0; i < runs; i++) {
    for (const size of sizes) {
      for (const tls of [true, false]) {
        for (const start of STARTS) {
          const key = floorKey(size, tls, start);
          samples.set(key, [
            ...(samples.get(key) ?? []),
            await timeFloor({ etcd, size, tls, start, pollMs }),
          ]);
        }
      }
    }
  }
  return samples;
}

/**
 * One sandbox and one operator for every run; sizes and TLS on and off in turns, after a warm-up start
 * that is not counted. TLS off shows the operator's path without its certificates.
 */
async function measureOperator(): Promise<Map<string, OperatorRun[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const sandbox = await startSandbox({ kubeconfigPath });
  const client = new KubeClient(sandbox.kubeConfig);
  const watch = new StartupWatch(client, NAMESPACE, pollMs);
  let operator: OperatorProcess | undefined;
  try {
    operator = await startOperatorProcess(kubeconfigPath);
    await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    await watch.start();
    const start = (size: number, tls: boolean, name: string) =>
      startOnce({ sandbox, client, watch, operator: operator! }, size, tls, name);
    await start(sizes[0] ?? 3, true, 'warm-up');
    const results = new Map<string, OperatorRun[]>();
    for (let i = 0; i < runs; i++) {
      for (const size of sizes) {
        for (const tls of [true, false]) {
          const key = variant(size, tls);
          results.set(key, [
            ...(results.get(key) ?? []),
            await start(size, tls, `s${size}-${tls ? 'tls' : 'plain'}-${i}`),
          ]);
        }
      }
    }
    return results;
  } finally {
    await watch.stop();
    await operator?.stop();
    client.close();
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Creates a cluster, waits until Running, reads its members' logs, deletes it and waits until its pods are gone. */
async function startOnce(
  { sandbox, client, watch, operator }: Harness,
  size: number,
  tls: boolean,
  name: string,
): Promise<OperatorRun> {
  const { record, running, gone } = watch.track(name, size);
  record.at.applied = Date.now();
  await client.create(EtcdClusters, {
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name, namespace: NAMESPACE },
    spec: { size, security: { tls: { enabled: tls } } },
  } as EtcdCluster);
  await within(running, `${name} to be Running`);
  watch.finish(name);
  const etcdStarts = await Promise.all(
    [...record.pods].map(async ([pod, uid]) => {
      const log = await sandbox.runtime.backend.logs({ namespace: NAMESPACE, name: pod, uid }, 'etcd', {});
      return parseEtcdStart(await text(log));
    }),
  );
  record.at.etcdStarted = latest(etcdStarts.map((e) => e.began));
  await client.delete(EtcdClusters, { namespace: NAMESPACE, name });
  await within(gone, `${name} and its pods to be deleted`);
  const { applied = 0, running: runningAt = 0 } = record.at;
  const passes = operator.lines.filter(
    (l) => l.msg === 'planned' && l.name === name && l.at >= applied && l.at <= runningAt,
  );
  return { record, etcd: etcdStarts, passes };
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WITHIN_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- report ------------------------------------------------------------------------------------

function printSummary(): void {
  const rows = [
    ['SIZE', 'TLS', 'FLOOR, ALL AT ONCE', 'FLOOR, ONE BY ONE', 'APPLY→RUNNING', 'OVERHEAD', 'GOAL', 'MET'],
  ];
  for (const { size, tls } of variants()) {
    const applied = runsOf(size, tls).map((r) => span(r.record, 'applied', 'running'));
    const lowerFloor = Math.min(...STARTS.map((start) => median(healthy(floorSamples(size, tls, start)))));
    const overhead = median(applied) - lowerFloor;
    // The goal is the default's: TLS on.
    const goal = tls ? GOALS[size] : undefined;
    rows.push([
      tls ? String(size) : '',
      tls ? 'on' : 'off',
      ...STARTS.map((start) => medianMin(healthy(floorSamples(size, tls, start)))),
      medianMin(applied),
      seconds(overhead),
      goal === undefined ? '' : `< ${seconds(goal)}`,
      goal === undefined ? '' : overhead < goal ? 'yes' : 'no',
    ]);
  }
  printTable(rows);
  console.log('(median / min; overhead = median apply→Running − the lower median floor with the same TLS)\n');
}

function printBreakdown(): void {
  const header = ['', ...variants().map(({ size, tls }) => `SIZE ${size} TLS ${tls ? 'ON' : 'OFF'}`)];
  const perVariant = (f: (runs: OperatorRun[], size: number, tls: boolean) => string) =>
    variants().map(({ size, tls }) => f(runsOf(size, tls), size, tls));
  console.log('Where apply → Running goes (median time since the step before; "-": no such step):');
  printTable([
    header,
    ...STEPS.slice(1).map(([step, label]) => [
      label,
      ...perVariant((runs) => signed(median(runs.map((r) => sinceStepBefore(r.record, step))))),
    ]),
  ]);

  console.log('\nInside those steps (median / min):');
  const bootstrap = (samples: FloorSample[]) => medianMin(samples.map((f) => f.bootstrapCheckMs ?? NaN));
  printTable([
    header,
    [
      "etcd's bootstrap check, longest member: operator",
      ...perVariant((runs) => medianMin(runs.map((r) => longestBootstrapCheck(r.etcd) ?? NaN))),
    ],
    ['  floor, all at once', ...perVariant((_, size, tls) => bootstrap(floorSamples(size, tls, 'together')))],
    [
      '  floor, one by one',
      ...perVariant((_, size, tls) => bootstrap(floorSamples(size, tls, 'one-by-one'))),
    ],
    [
      'first etcd process → every member healthy',
      ...perVariant((runs) =>
        medianMin(
          runs.map((r) => (r.record.at.etcdHealthy ?? NaN) - (earliest(r.etcd.map((e) => e.began)) ?? NaN)),
        ),
      ),
    ],
    ['reconcile passes, apply → Running', ...perVariant((runs) => count(runs.map((r) => r.passes.length)))],
    [
      '  longest gap between two passes',
      ...perVariant((runs) => medianMin(runs.map((r) => longestGap(r.passes.map((p) => p.at))))),
    ],
    [
      '  passes once every member is healthy',
      ...perVariant((runs) =>
        count(runs.map((r) => r.passes.filter((p) => p.at >= (r.record.at.etcdHealthy ?? Infinity)).length)),
      ),
    ],
  ]);
  console.log(
    `(after a pass the operator requeues in ${REQUEUE.busy} ms while busy, ${REQUEUE.waiting} ms while waiting, ` +
      `${REQUEUE.steady} ms when steady; a change to an owned Pod or Secret queues a pass at once)\n`,
  );

  console.log("The certificates of the operator's first pass, alone (median / min):");
  const cert = (pick: (c: CertificateCost) => number) => medianMin(certificates.map(pick));
  printTable([
    ['CA + 3 leaves as lib/tls issues them', cert((c) => c.issueMs)],
    ['4 RSA-2048 keys, one after another (blocking)', cert((c) => c.rsaSyncMs)],
    ['4 RSA-2048 keys at once on the thread pool', cert((c) => c.rsaParallelMs)],
    ['4 ECDSA P-256 keys', cert((c) => c.ecdsaMs)],
  ]);
  console.log('');
  for (const size of sizes) printMedianRun(size);
}

/** The run of median apply → Running, step by step, with the operator's passes and etcd's own marks. */
function printMedianRun(size: number): void {
  const sorted = [...runsOf(size)].sort(
    (a, b) => span(a.record, 'applied', 'running') - span(b.record, 'applied', 'running'),
  );
  const run = sorted[Math.floor(sorted.length / 2)];
  if (!run) return;
  const t0 = run.record.at.applied ?? 0;
  const marks = [
    ...STEPS.flatMap(([step, label]) => {
      const at = run.record.at[step];
      return at === undefined ? [] : [{ at, what: label }];
    }),
    ...run.passes.map((p) => ({
      at: p.at,
      what: `  operator pass: ${p.phase ?? '?'}${p.membership ? ` (${p.membership})` : ''}`,
    })),
    ...run.etcd.flatMap((e, i) =>
      (
        [
          [e.bootstrapChecked, 'bootstrap check done'],
          [e.leaderElected, 'sees a leader'],
        ] as const
      ).flatMap(([at, what]) => (at === undefined ? [] : [{ at, what: `    etcd member ${i}: ${what}` }])),
    ),
  ].sort((a, b) => a.at - b.at);
  console.log(`Size ${size}, the median run (${run.record.name}):`);
  for (const m of marks) console.log(`${`+${seconds(m.at - t0)}`.padStart(10)}  ${m.what}`);
  console.log('');
}

// --- figures -----------------------------------------------------------------------------------

function variants(): { size: number; tls: boolean }[] {
  return sizes.flatMap((size) => [true, false].map((tls) => ({ size, tls })));
}

function variant(size: number, tls: boolean): string {
  return `${size}/${tls}`;
}

function runsOf(size: number, tls = true): OperatorRun[] {
  return operatorRuns.get(variant(size, tls)) ?? [];
}

function healthy(samples: FloorSample[]): number[] {
  return samples.map((s) => s.healthyMs);
}

function span(record: StartRecord, from: Step, to: Step): number {
  return (record.at[to] ?? NaN) - (record.at[from] ?? NaN);
}

/** From the nearest earlier step this start went through (TLS off has no certificates) to `step`. */
function sinceStepBefore(record: StartRecord, step: Step): number {
  const index = STEPS.findIndex(([s]) => s === step);
  const before = STEPS.slice(0, index)
    .reverse()
    .find(([s]) => record.at[s] !== undefined)?.[0];
  return before === undefined ? NaN : span(record, before, step);
}

function latest(times: (number | undefined)[]): number | undefined {
  return times.some((t) => t === undefined) ? undefined : Math.max(...(times as number[]));
}

function earliest(times: (number | undefined)[]): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}

function longestGap(times: number[]): number {
  return times.slice(1).reduce((gap, t, i) => Math.max(gap, t - times[i]!), 0);
}

function median(xs: readonly number[]): number {
  const sorted = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianMin(xs: readonly number[]): string {
  const valid = xs.filter((x) => !Number.isNaN(x));
  return valid.length === 0 ? '-' : `${seconds(median(valid))} / ${seconds(Math.min(...valid))}`;
}

function count(xs: readonly number[]): string {
  return `${median(xs)} / ${Math.min(...xs)}`;
}

function seconds(ms: number): string {
  if (Number.isNaN(ms)) return '-';
  return Math.abs(ms) < 10 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function signed(ms: number): string {
  return Number.isNaN(ms) || ms < 0 ? seconds(ms) : `+${seconds(ms)}`;
}

/** Columns padded to their widest cell, 3 spaces apart, as kubectl prints tables. */
function printTable(rows: readonly string[][]): void {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => r[c]?.length ?? 0))) ?? [];
  for (const row of rows)
    console.log(
      row
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('   ')
        .trimEnd(),
    );
}
