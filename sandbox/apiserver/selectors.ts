/**
 * Label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors (=, ==, !=), parsed
 * once per request into predicates. Field selectors read dotted paths (`involvedObject.uid`); which
 * fields a resource supports is decided by the caller, as the real server refuses the others.
 */
import { badRequest } from './status.js';
import type { KubeObject } from './types.js';

export type Predicate = (obj: KubeObject) => boolean;

type Requirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

const REQUIREMENT =
  /^\s*(!?)\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*(?:(==|=|!=)\s*([-A-Za-z0-9_.]*)|\s(in|notin)\s*\(([^)]*)\))?\s*$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms.filter((t) => t.trim() !== '');
}

function parseRequirement(term: string): Requirement {
  const m = REQUIREMENT.exec(term);
  if (!m) throw badRequest(`unable to parse requirement: found '${term.trim()}', expected a label selector`);
  const [, not, key = '', eq, value, setOp, set] = m;
  if (eq !== undefined) {
    if (not) throw badRequest(`unable to parse requirement: '!' cannot be combined with '${eq}'`);
    return { key, op: eq === '!=' ? 'notin' : 'in', values: [value ?? ''] };
  }
  if (setOp !== undefined) {
    if (not) throw badRequest(`unable to parse requirement: '!' cannot be combined with '${setOp}'`);
    const values = (set ?? '').split(',').map((v) => v.trim());
    return { key, op: setOp as 'in' | 'notin', values };
  }
  return { key, op: not ? '!exists' : 'exists' };
}

export function parseLabelSelector(selector: string | undefined): Predicate {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map(parseRequirement);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return requirements.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      switch (r.op) {
        case 'exists':
          return has;
        case '!exists':
          return !has;
        case 'in':
          return has && r.values.includes(labels[r.key] ?? '');
        case 'notin':
          return !has || !r.values.includes(labels[r.key] ?? '');
      }
    });
  };
}

/** A label selector object (`{matchLabels, matchExpressions}`) as a predicate over label maps. */
export function labelSelectorObjectMatches(
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  },
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key] ?? '');
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export interface FieldTerm {
  field: string;
  value: string;
  negate: boolean;
}

export function parseFieldSelector(selector: string | undefined): FieldTerm[] {
  if (!selector) return [];
  return splitTerms(selector).map((term) => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    return { field: m[1] ?? '', value: m[3] ?? '', negate: m[2] === '!=' };
  });
}

/** The value a field selector compares: the string form of a dotted path ('' when absent). */
export function fieldValue(obj: KubeObject, path: string): string {
  let node: unknown = obj;
  for (const seg of path.split('.')) {
    if (typeof node !== 'object' || node === null) return '';
    node = (node as Record<string, unknown>)[seg];
  }
  if (node === undefined || node === null) return '';
  return typeof node === 'string' ? node : JSON.stringify(node);
}

/** Checks each term's field against `supported` and returns the predicate. */
export function fieldPredicate(terms: FieldTerm[], supported: string[]): Predicate {
  for (const t of terms) {
    if (!supported.includes(t.field)) {
      throw badRequest(
        `"${t.field}" is not a known field selector: only ${supported.map((f) => `"${f}"`).join(', ')}`,
      );
    }
  }
  return (obj) => terms.every((t) => (fieldValue(obj, t.field) === t.value) !== t.negate);
}
