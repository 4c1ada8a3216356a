/**
 * Discovery (/version, /api, /apis, /api/v1, /apis/{group}/{version}) in both the aggregated form
 * kubectl 1.32 asks for first and the legacy form, and the minimal OpenAPI v3 that makes kubectl
 * apply move validation to the server (fieldValidation=Strict).
 */
import type { Registry } from './registry.js';
import type { ResourceDef } from './resources.js';

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** True when the Accept header asks for aggregated discovery. */
export function wantsAggregated(accept: string | undefined): boolean {
  return (accept ?? '').includes('as=APIGroupDiscoveryList');
}

const gv = (group: string, version: string) => (group === '' ? version : `${group}/${version}`);

function subresourceVerbs(def: ResourceDef, sub: string): string[] {
  if (sub === 'status' || sub === 'scale') return ['get', 'patch', 'update'];
  if (sub === 'log') return ['get'];
  if (sub === 'exec' || sub === 'portforward') return ['create', 'get'];
  if (sub === 'binding') return ['create'];
  if (sub === 'finalize') return ['update'];
  return def.verbs;
}

const subresourcesOf = (def: ResourceDef) => [
  ...(def.status ? ['status'] : []),
  ...(def.scale ? ['scale'] : []),
  ...def.subresources,
];

const subresourceKind = (def: ResourceDef, sub: string) =>
  sub === 'scale'
    ? { group: 'autoscaling', version: 'v1', kind: 'Scale' }
    : sub === 'binding'
      ? { group: '', version: 'v1', kind: 'Binding' }
      : { group: def.group, version: def.version, kind: def.kind };

function aggregatedResource(def: ResourceDef) {
  return {
    resource: def.plural,
    responseKind: { group: def.group, version: def.version, kind: def.kind },
    scope: def.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: def.singular,
    verbs: def.verbs,
    ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
    ...(def.categories.length ? { categories: def.categories } : {}),
    subresources: subresourcesOf(def).map((sub) => ({
      subresource: sub,
      responseKind: subresourceKind(def, sub),
      verbs: subresourceVerbs(def, sub),
    })),
  };
}

/** The APIGroupDiscoveryList for `/api` (core) or `/apis` (every named group). */
export function aggregatedDiscovery(registry: Registry, core: boolean) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: registry
      .groupVersions()
      .filter((g) => (g.group === '') === core)
      .map((g) => ({
        metadata: { name: g.group, creationTimestamp: null },
        versions: g.versions.map((version) => ({
          version,
          resources: registry
            .all()
            .filter((d) => d.group === g.group && d.version === version)
            .map(aggregatedResource),
          freshness: 'Current',
        })),
      })),
  };
}

export function legacyApiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function legacyGroupList(registry: Registry) {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry
      .groupVersions()
      .filter((g) => g.group !== '')
      .map((g) => {
        const versions = g.versions.map((version) => ({ groupVersion: gv(g.group, version), version }));
        return { name: g.group, versions, preferredVersion: versions[0] };
      }),
  };
}

export function legacyGroup(registry: Registry, group: string) {
  return legacyGroupList(registry).groups.find((g) => g.name === group);
}

/** The APIResourceList of one group version, or undefined when it is not served. */
export function resourceList(registry: Registry, group: string, version: string) {
  const defs = registry.all().filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv(group, version),
    resources: defs.flatMap((def) => [
      {
        name: def.plural,
        singularName: def.singular,
        namespaced: def.namespaced,
        kind: def.kind,
        verbs: def.verbs,
        ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
        ...(def.categories.length ? { categories: def.categories } : {}),
      },
      ...subresourcesOf(def).map((sub) => {
        const k = subresourceKind(def, sub);
        return {
          name: `${def.plural}/${sub}`,
          singularName: '',
          namespaced: def.namespaced,
          ...(k.group !== def.group || k.version !== def.version
            ? { group: k.group, version: k.version }
            : {}),
          kind: k.kind,
          verbs: subresourceVerbs(def, sub),
        };
      }),
    ]),
  };
}

/** `/openapi/v3`: one document per group version. */
export function openApiRoot(registry: Registry) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of registry.groupVersions()) {
    for (const version of g.versions) {
      const key = g.group === '' ? `api/${version}` : `apis/${g.group}/${version}`;
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash(registry, g.group, version)}` };
    }
  }
  return { paths };
}

function hash(registry: Registry, group: string, version: string): string {
  const kinds = registry
    .all()
    .filter((d) => d.group === group && d.version === version)
    .map((d) => d.kind)
    .join(',');
  let h = 0;
  for (const c of kinds) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').toUpperCase();
}

/**
 * One group version's OpenAPI v3 document: enough for kubectl to know each kind exists and accepts
 * `fieldValidation`, so that it leaves validation to this server. Schemas are open objects.
 */
export function openApiGroupVersion(registry: Registry, group: string, version: string) {
  const defs = registry.all().filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const prefix = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const d of defs) {
    const gvk = { group: d.group, version: d.version, kind: d.kind };
    const operation = {
      'x-kubernetes-group-version-kind': gvk,
      parameters: [
        { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
        { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
      ],
      responses: { '200': { description: 'OK' } },
    };
    const item = `${prefix}${d.namespaced ? '/namespaces/{namespace}' : ''}/${d.plural}/{name}`;
    paths[item] = { get: operation, put: operation, patch: operation, delete: operation };
    paths[`${prefix}${d.namespaced ? '/namespaces/{namespace}' : ''}/${d.plural}`] = { post: operation };
    schemas[`${group === '' ? 'io.k8s.api.core' : group}.${version}.${d.kind}`] = {
      type: 'object',
      'x-kubernetes-group-version-kind': [gvk],
      'x-kubernetes-preserve-unknown-fields': true,
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}
