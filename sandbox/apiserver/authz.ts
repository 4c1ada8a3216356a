/**
 * Authorization: system:masters may do anything; everyone else is judged by RBAC over the stored
 * Roles, ClusterRoles and their bindings, as the real RBAC authorizer does (resources with
 * subresources such as `pods/exec`, resourceNames, nonResourceURLs). Denials are worded as the
 * real server words them.
 */
import { ApiError } from './status.js';
import type { KubeObject, UserInfo } from './types.js';

export interface Attributes {
  user: UserInfo;
  verb: string;
  /** Resource requests; absent for non-resource paths. */
  resource?: { group: string; resource: string; subresource?: string; namespace?: string; name?: string };
  path: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface Binding extends KubeObject {
  subjects?: Subject[];
  roleRef?: { kind: string; name: string };
}

/** Reads the RBAC objects: what getRole/listBindings return is stored data. */
export interface RbacSource {
  role(namespace: string, name: string): KubeObject | undefined;
  clusterRole(name: string): KubeObject | undefined;
  roleBindings(namespace: string): KubeObject[];
  clusterRoleBindings(): KubeObject[];
}

const matchesSubject = (s: Subject, user: UserInfo) => {
  if (s.kind === 'User') return s.name === user.name;
  if (s.kind === 'Group') return user.groups.includes(s.name);
  if (s.kind === 'ServiceAccount')
    return user.name === `system:serviceaccount:${s.namespace ?? ''}:${s.name}`;
  return false;
};

const has = (list: string[] | undefined, value: string) => (list ?? []).some((v) => v === '*' || v === value);

function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resource) {
    return (rule.nonResourceURLs ?? []).some(
      (u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))),
    );
  }
  const r = a.resource;
  if (!has(rule.apiGroups, r.group)) return false;
  const combined = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const resources = rule.resources ?? [];
  const resourceOk = resources.some(
    (x) => x === '*' || x === combined || (r.subresource !== undefined && x === `*/${r.subresource}`),
  );
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (r.name !== undefined && names.includes(r.name));
}

const rulesOf = (role: KubeObject | undefined) => (role?.rules ?? []) as PolicyRule[];

export function isAllowed(a: Attributes, rbac: RbacSource): boolean {
  if (a.user.groups.includes('system:masters')) return true;
  for (const b of rbac.clusterRoleBindings() as Binding[]) {
    if (!(b.subjects ?? []).some((s) => matchesSubject(s, a.user))) continue;
    if (rulesOf(rbac.clusterRole(b.roleRef?.name ?? '')).some((r) => ruleAllows(r, a))) return true;
  }
  const ns = a.resource?.namespace;
  if (ns === undefined) return false;
  for (const b of rbac.roleBindings(ns) as Binding[]) {
    if (!(b.subjects ?? []).some((s) => matchesSubject(s, a.user))) continue;
    const role =
      b.roleRef?.kind === 'ClusterRole'
        ? rbac.clusterRole(b.roleRef.name)
        : rbac.role(ns, b.roleRef?.name ?? '');
    if (rulesOf(role).some((r) => ruleAllows(r, a))) return true;
  }
  return false;
}

/** The 403 the real server answers, e.g. `pods "x" is forbidden: User "bob" cannot create resource "pods/portforward" in API group "" in the namespace "default"`. */
export function forbidden(a: Attributes): ApiError {
  const who = `User "${a.user.name}"`;
  if (!a.resource) {
    return new ApiError(403, 'Forbidden', `forbidden: ${who} cannot ${a.verb} path "${a.path}"`, {});
  }
  const r = a.resource;
  const combined = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const subject = r.name ? `${r.resource} "${r.name}"` : r.resource;
  const where = r.namespace ? `in the namespace "${r.namespace}"` : 'at the cluster scope';
  return new ApiError(
    403,
    'Forbidden',
    `${subject} is forbidden: ${who} cannot ${a.verb} resource "${combined}" in API group "${r.group}" ${where}`,
    { ...(r.name ? { name: r.name } : {}), ...(r.group ? { group: r.group } : {}), kind: r.resource },
  );
}

const discoveryURLs = [
  '/api',
  '/api/*',
  '/apis',
  '/apis/*',
  '/openapi',
  '/openapi/*',
  '/version',
  '/version/',
];

/** The ClusterRoles and bindings a fresh real cluster has and that this server relies on. */
export function bootstrapRbac(): KubeObject[] {
  const clusterRole = (name: string, rules: PolicyRule[]): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules,
  });
  const binding = (name: string, ...groups: string[]): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: groups.map((group) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group })),
  });
  return [
    clusterRole('cluster-admin', [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ]),
    clusterRole('system:discovery', [{ nonResourceURLs: discoveryURLs, verbs: ['get'] }]),
    clusterRole('system:public-info-viewer', [
      { nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] },
    ]),
    clusterRole('system:basic-user', [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
    ]),
    binding('cluster-admin', 'system:masters'),
    binding('system:discovery', 'system:authenticated'),
    binding('system:public-info-viewer', 'system:authenticated', 'system:unauthenticated'),
    binding('system:basic-user', 'system:authenticated'),
  ];
}
