/** URL paths → what they address: a resource (with namespace, name, subresource) or a non-resource path. */

export interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
}

/** The resource a path addresses, undefined for non-resource paths (discovery, /version, …). */
export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const segs = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1] ?? '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1] ?? '';
    version = segs[2] ?? '';
    rest = segs.slice(3);
  } else return undefined;
  const namespaceSub = rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
  if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceSub) {
    if (rest.length > 5) return undefined;
    const [, namespace, plural = '', name, subresource] = rest;
    return { group, version, namespace, plural, name, subresource };
  }
  if (rest.length > 3) return undefined;
  const [plural = '', name, subresource] = rest;
  return { group, version, plural, name, subresource };
}

/** The authorization verb of a request. */
export function verbOf(method: string, path: ResourcePath, watch: boolean): string {
  if (path.subresource === 'exec' || path.subresource === 'portforward' || path.subresource === 'attach')
    return 'create';
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (path.name === undefined) return watch ? 'watch' : 'list';
      return watch ? 'watch' : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return path.name === undefined ? 'deletecollection' : 'delete';
    default:
      return method.toLowerCase();
  }
}

export const isTrue = (v: string | null | undefined) => v === 'true' || v === '1';
