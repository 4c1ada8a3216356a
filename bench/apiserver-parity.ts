/**
 * Parity report: replays the sandbox's raw-HTTP scenario (test/scenarios/apiserver.yaml) against the
 * sandbox API server and a real kube-apiserver side by side, and lists every request whose status
 * code, Status reason or body differs. Bodies are compared after masking what differs between any
 * two runs (uids, resourceVersions, timestamps, continue tokens, ages); discovery documents are
 * compared by kind only (a real server serves far more groups).
 *
 *   node --import tsx bench/apiserver-parity.ts [scenario.yaml] [--out report.md]
 *
 * Needs the kube-apiserver build (hack/kube-binaries.sh) and etcd 3.6 (hack/etcd-binaries.sh).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { crds } from '../generated/crds.js';
import { startApiServer } from '../sandbox/index.js';
import { request, startRealApiServer, type RawResponse } from '../sandbox/real/index.js';
import { loadScenario, type ScenarioStep } from '../test/scenarios/replay.js';

interface Server {
  url: string;
  caCert: string;
  token(user?: string): string;
}

const VOLATILE_KEYS = new Set([
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'time',
  'continue',
  'lastTransitionTime',
  'startTime',
]);
const DISCOVERY_KINDS = new Set(['APIVersions', 'APIGroupList', 'APIGroupDiscoveryList', 'APIResourceList']);
/** More differences than this in one body are summarised. */
const MAX_LINES_PER_STEP = 20;

const get = (object: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], object);

/** `${name}` → its value, in every string of the step; an unknown name stays as written. */
const fill = <T>(value: T, vars: Record<string, string>): T =>
  JSON.parse(
    JSON.stringify(value).replace(/\$\{(\w+)\}/g, (whole, name: string) => vars[name] ?? whole),
  ) as T;

/** Runs every step in order against `server`, `${ns}` being `namespace`; the answers in step order. */
async function replay(
  server: Server,
  steps: readonly ScenarioStep[],
  namespace: string,
): Promise<RawResponse[]> {
  const vars: Record<string, string> = { ns: namespace };
  const answers: RawResponse[] = [];
  for (const raw of steps) {
    const step = fill(raw, vars);
    const token =
      step.auth === 'none' ? undefined : step.auth === 'invalid' ? 'no-such-token' : server.token();
    const answer = await request(server.url, server.caCert, {
      method: step.method,
      path: step.path,
      ...(token === undefined ? {} : { token }),
      body: step.bodyText ?? step.body,
      ...(step.contentType === undefined ? {} : { contentType: step.contentType }),
      ...(step.headers === undefined ? {} : { headers: step.headers }),
    });
    answers.push(answer);
    for (const [name, path] of Object.entries(step.save ?? {})) vars[name] = String(get(answer.body, path));
  }
  return answers;
}

/** The body with run-specific values masked, so that two servers' answers can be compared. */
function mask(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(mask);
  if (body === null || typeof body !== 'object') return body;
  const object = body as Record<string, unknown>;
  const out = Object.fromEntries(
    Object.entries(object).map(([k, v]) => [
      k,
      VOLATILE_KEYS.has(k) && v !== undefined && v !== '' ? '<set>' : mask(v),
    ]),
  );
  if (object.kind === 'Table' && Array.isArray(object.columnDefinitions)) {
    const age = (object.columnDefinitions as { name?: string }[]).findIndex((c) => c.name === 'Age');
    for (const row of (out.rows as { cells?: unknown[] }[] | undefined) ?? []) {
      if (age >= 0 && row.cells) row.cells[age] = '<age>';
    }
  }
  return out;
}

/** Paths where `a` and `b` differ, each `path: a ≠ b`. */
function deepDiff(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const bothObjects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object';
  if (!bothObjects || Array.isArray(a) !== Array.isArray(b)) {
    return [`\`${path || '.'}\`: real ${show(a)} · sandbox ${show(b)}`];
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) => {
    const child = Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`;
    return deepDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], child);
  });
}

const show = (v: unknown): string => (v === undefined ? 'absent' : JSON.stringify(v).slice(0, 160));

/** A watch answer as its events' `TYPE name`, bookmarks left out. */
function events(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { type: string; object?: { metadata?: { name?: string } } })
    .filter((e) => e.type !== 'BOOKMARK')
    .map((e) => `${e.type} ${e.object?.metadata?.name ?? ''}`);
}

interface Difference {
  aspect: 'status' | 'reason' | 'kind' | 'body' | 'events' | 'managedFields';
  text: string;
}

/** What differs between the real server's answer and the sandbox's. */
function differences(real: RawResponse, sandbox: RawResponse): Difference[] {
  const out: Difference[] = [];
  const add = (aspect: Difference['aspect'], lines: string[]) =>
    out.push(...lines.map((text) => ({ aspect, text })));
  if (real.status !== sandbox.status)
    add('status', [`status: real ${real.status} · sandbox ${sandbox.status}`]);
  const [r, s] = [real.body, sandbox.body];
  if (typeof r === 'string' || typeof s === 'string') {
    const [re, se] = [
      typeof r === 'string' ? safeEvents(r) : undefined,
      typeof s === 'string' ? safeEvents(s) : undefined,
    ];
    if (re && se) add('events', deepDiff(re, se, 'events'));
    else if (r !== s) add('body', [`body: real ${show(r)} · sandbox ${show(s)}`]);
    return out;
  }
  const [rr, sr] = [get(r, 'reason'), get(s, 'reason')];
  if (rr !== sr) add('reason', [`reason: real ${show(rr)} · sandbox ${show(sr)}`]);
  const [rk, sk] = [get(r, 'kind'), get(s, 'kind')];
  if (DISCOVERY_KINDS.has(String(rk)) || DISCOVERY_KINDS.has(String(sk))) {
    if (rk !== sk) add('kind', [`kind: real ${show(rk)} · sandbox ${show(sk)}`]);
    return out;
  }
  const body = deepDiff(mask(r), mask(s)).filter((line) => !line.startsWith('`.reason`'));
  // Field ownership differs in many small ways at once: one line says how much, and where first.
  const owned = body.filter((line) => line.includes('.managedFields'));
  add(
    'body',
    body.filter((line) => !line.includes('.managedFields')),
  );
  if (owned.length > 0)
    add('managedFields', [`managedFields: ${owned.length} paths differ, first ${owned[0]}`]);
  return out;
}

function safeEvents(text: string): string[] | undefined {
  try {
    return events(text);
  } catch {
    return undefined;
  }
}

function report(
  version: string,
  file: string,
  steps: readonly ScenarioStep[],
  real: RawResponse[],
  sandbox: RawResponse[],
): string {
  const rows: string[] = [];
  const details: string[] = [];
  steps.forEach((step, i) => {
    const diff = differences(real[i]!, sandbox[i]!);
    if (diff.length === 0) return;
    const n = i + 1;
    const aspects = [...new Set(diff.map((d) => d.aspect))];
    rows.push(`| ${n} | ${step.name} | ${real[i]!.status} | ${sandbox[i]!.status} | ${aspects.join(', ')} |`);
    const shown = diff.slice(0, MAX_LINES_PER_STEP).map((d) => `- ${d.text}`);
    if (diff.length > MAX_LINES_PER_STEP) shown.push(`- … and ${diff.length - MAX_LINES_PER_STEP} more`);
    details.push(`### ${n}. ${step.name}\n\n\`${step.method} ${step.path}\`\n\n${shown.join('\n')}\n`);
  });
  return [
    `# API server parity: sandbox vs kube-apiserver ${version}`,
    '',
    `Scenario \`${file}\`: ${steps.length} requests, ${rows.length} differ (status code, Status reason or masked body).`,
    '',
    ...(rows.length === 0
      ? ['No differences.']
      : [
          '| # | request | real | sandbox | what differs |',
          '| - | - | - | - | - |',
          ...rows,
          '',
          ...details,
        ]),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
  const file = positionals[0] ?? 'test/scenarios/apiserver.yaml';
  const { steps } = loadScenario(file);
  const namespace = `parity-${randomBytes(3).toString('hex')}`;
  const [real, sandbox] = await Promise.all([startRealApiServer({ crds }), startApiServer({ crds })]);
  try {
    const [realAnswers, sandboxAnswers] = [
      await replay(real, steps, namespace),
      await replay(sandbox, steps, namespace),
    ];
    const text = report(real.version, file, steps, realAnswers, sandboxAnswers);
    process.stdout.write(text);
    if (values.out) writeFileSync(values.out, text);
  } finally {
    await Promise.all([real.stop(), sandbox.stop()]);
  }
}

await main();
