/** Answers for paths that address no resource: /version, discovery, OpenAPI and health checks. */
import {
  AGGREGATED_CONTENT_TYPE,
  VERSION_INFO,
  aggregatedDiscovery,
  legacyApiVersions,
  legacyGroup,
  legacyGroupList,
  openApiGroupVersion,
  openApiRoot,
  resourceList,
  wantsAggregated,
} from './discovery.js';
import type { Registry } from './registry.js';
import { pathNotFound } from './status.js';

export interface NonResourceReply {
  code: number;
  body: unknown;
  contentType: string;
}

const JSON_TYPE = 'application/json';

export function serveNonResource(
  registry: Registry,
  pathname: string,
  accept: string | undefined,
  serverAddress: string,
): NonResourceReply {
  const json = (body: unknown): NonResourceReply => ({ code: 200, body, contentType: JSON_TYPE });
  const segs = pathname.split('/').filter((s) => s !== '');
  const [first, second, third] = segs;
  if (pathname === '/healthz' || pathname === '/livez' || pathname === '/readyz')
    return { code: 200, body: 'ok', contentType: 'text/plain' };
  if (first === 'version' && segs.length === 1) return json(VERSION_INFO);
  if ((first === 'api' || first === 'apis') && segs.length === 1) {
    if (wantsAggregated(accept))
      return {
        code: 200,
        body: aggregatedDiscovery(registry, first === 'api'),
        contentType: AGGREGATED_CONTENT_TYPE,
      };
    return json(first === 'api' ? legacyApiVersions(serverAddress) : legacyGroupList(registry));
  }
  if (first === 'api' && segs.length === 2) {
    const list = resourceList(registry, '', second ?? '');
    if (list) return json(list);
  }
  if (first === 'apis' && segs.length === 2) {
    const group = legacyGroup(registry, second ?? '');
    if (group) return json({ kind: 'APIGroup', apiVersion: 'v1', ...group });
  }
  if (first === 'apis' && segs.length === 3) {
    const list = resourceList(registry, second ?? '', third ?? '');
    if (list) return json(list);
  }
  if (first === 'openapi' && second === 'v3') {
    if (segs.length === 2) return json(openApiRoot(registry));
    const [group, version] = segs[2] === 'api' ? ['', segs[3]] : [segs[3], segs[4]];
    const doc = openApiGroupVersion(registry, group ?? '', version ?? '');
    if (doc) return json(doc);
  }
  throw pathNotFound();
}
