/**
 * Replays test/scenarios/apiserver.yaml (or another scenario file) against any Kubernetes API
 * server — the sandbox or a real kube-apiserver — given its URL, CA and an admin token, and reports
 * for each step what did not meet the expectation.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parse } from 'yaml';

export interface ReplayTarget {
  /** https://host:port or http://host:port */
  url: string;
  /** PEM of the CA behind the serving certificate (HTTPS). */
  caCert?: string;
  /** A token of a user in system:masters. */
  token: string;
  /** The etcd.io CRDs are installed: run the steps marked `crd: true`. */
  crds: boolean;
}

export interface StepResult {
  name: string;
  /** Empty when every expectation held. */
  problems: string[];
}

export interface Expect {
  status: number;
  reason?: string;
  message?: string;
  messageMatches?: string;
  headers?: Record<string, string>;
  body?: unknown;
  causes?: { field: string; reason: string }[];
  items?: string[];
  continue?: boolean;
  present?: string[];
  absent?: string[];
  events?: { type: string; name: string }[];
}

/** One request of a scenario and what its answer must show. */
export interface ScenarioStep {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  contentType?: string;
  body?: unknown;
  bodyText?: string;
  auth?: 'none' | 'invalid';
  crd?: boolean;
  expect: Expect;
  save?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function send(target: ReplayTarget, step: ScenarioStep): Promise<Answer> {
  const url = new URL(step.path, target.url);
  const headers: Record<string, string> = { accept: 'application/json', ...step.headers };
  if (step.auth !== 'none')
    headers.authorization = `Bearer ${step.auth === 'invalid' ? 'no-such-token' : target.token}`;
  const payload = step.bodyText ?? (step.body === undefined ? undefined : JSON.stringify(step.body));
  if (payload !== undefined) {
    headers['content-type'] = step.contentType ?? 'application/json';
    // Node sends no length for a DELETE body unless told: the server would read it as a new request.
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      { method: step.method, headers, ...(target.caCert ? { ca: target.caCert } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function substitute<T>(value: T, vars: Record<string, string>): T {
  if (typeof value === 'string')
    return value.replace(/\$\{(\w+)\}/g, (_, k: string) => vars[k] ?? `\${${k}}`) as T;
  if (Array.isArray(value)) return (value as unknown[]).map((v) => substitute(v, vars)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)])) as T;
  }
  return value;
}

const at = (object: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>((node, seg) => (node as Record<string, unknown> | undefined)?.[seg], object);

/** Every field of `expected` is in `actual` (arrays element by element; `{matches: re}` tests a string). */
function subsetProblems(actual: unknown, expected: unknown, path: string): string[] {
  if (expected && typeof expected === 'object' && !Array.isArray(expected) && 'matches' in expected) {
    const re = new RegExp(String(expected.matches));
    return typeof actual === 'string' && re.test(actual)
      ? []
      : [`${path}: ${JSON.stringify(actual)} does not match /${re.source}/`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: expected ${expected.length} items, got ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((e, i) => subsetProblems(actual[i], e, `${path}[${i}]`));
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object')
      return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([k, v]) =>
      subsetProblems((actual as Record<string, unknown>)[k], v, `${path}.${k}`),
    );
  }
  return actual === expected
    ? []
    : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

function check(expect: Expect, answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.status !== expect.status)
    problems.push(`status ${answer.status}, expected ${expect.status}: ${answer.text.slice(0, 300)}`);
  for (const [name, value] of Object.entries(expect.headers ?? {})) {
    if (answer.headers[name] !== value)
      problems.push(`header ${name}: ${String(answer.headers[name])}, expected ${value}`);
  }
  if (expect.events) {
    const events = answer.text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { type: string; object: { metadata?: { name?: string } } })
      .filter((e) => e.type !== 'BOOKMARK')
      .map((e) => ({ type: e.type, name: e.object.metadata?.name ?? '' }));
    problems.push(...subsetProblems(events, expect.events, 'events'));
    return problems;
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return [...problems, `the answer is not JSON: ${answer.text.slice(0, 200)}`];
  }
  const status = body as {
    reason?: string;
    message?: string;
    details?: { causes?: { field?: string; reason?: string }[] };
  };
  if (expect.reason !== undefined && status.reason !== expect.reason)
    problems.push(`reason ${String(status.reason)}, expected ${expect.reason}`);
  if (expect.message !== undefined && status.message !== expect.message) {
    problems.push(`message ${JSON.stringify(status.message)}, expected ${JSON.stringify(expect.message)}`);
  }
  if (expect.messageMatches !== undefined && !new RegExp(expect.messageMatches).test(status.message ?? '')) {
    problems.push(`message ${JSON.stringify(status.message)} does not match /${expect.messageMatches}/`);
  }
  if (expect.causes) {
    const causes = (status.details?.causes ?? []).map((c) => ({ field: c.field, reason: c.reason }));
    problems.push(...subsetProblems(causes, expect.causes, 'causes'));
  }
  if (expect.body !== undefined) problems.push(...subsetProblems(body, expect.body, 'body'));
  if (expect.items) {
    const names = ((body as { items?: { metadata: { name: string } }[] }).items ?? []).map(
      (i) => i.metadata.name,
    );
    problems.push(...subsetProblems(names, expect.items, 'items'));
  }
  if (expect.continue !== undefined && Boolean(at(body, 'metadata.continue')) !== expect.continue) {
    problems.push(`metadata.continue ${expect.continue ? 'missing' : 'present'}`);
  }
  for (const p of expect.present ?? []) if (at(body, p) === undefined) problems.push(`${p} is missing`);
  for (const p of expect.absent ?? [])
    if (at(body, p) !== undefined) problems.push(`${p} is present: ${JSON.stringify(at(body, p))}`);
  return problems;
}

export function loadScenario(file: string): { steps: ScenarioStep[] } {
  return parse(readFileSync(file, 'utf8')) as { steps: ScenarioStep[] };
}

/** Replays every step in order; `namespace` is the scenario's fresh namespace (${ns}). */
export async function replayScenario(
  file: string,
  target: ReplayTarget,
  namespace: string,
): Promise<StepResult[]> {
  const scenario = loadScenario(file);
  const vars: Record<string, string> = { ns: namespace };
  const results: StepResult[] = [];
  for (const raw of scenario.steps) {
    if (raw.crd && !target.crds) continue;
    const step = substitute(raw, vars);
    const answer = await send(target, step);
    results.push({ name: step.name, problems: check(step.expect, answer) });
    if (step.save) {
      const body = JSON.parse(answer.text) as unknown;
      for (const [name, path] of Object.entries(step.save)) vars[name] = String(at(body, path));
    }
  }
  return results;
}
