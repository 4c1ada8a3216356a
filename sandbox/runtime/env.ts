/**
 * A container's environment, by Kubernetes' rules: `envFrom` first, then `env` (later names win);
 * `$(VAR)` in a value refers to the variables defined before it. Pure: Secrets and ConfigMaps come
 * through `lookup`.
 */
import type { V1Container, V1EnvVarSource, V1Pod } from '@kubernetes/client-node';
import { expand } from './expand.js';

/** What a pod's env may refer to, read from the kubelet's caches. */
export interface EnvSources {
  /** The decoded data of a Secret, or undefined if it does not exist. */
  secret(namespace: string, name: string): Record<string, Buffer> | undefined;
  configMap(namespace: string, name: string): Record<string, Buffer> | undefined;
  podIP: string;
  hostIP: string;
}

/** The container cannot start: Kubernetes reports this as `CreateContainerConfigError`. */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

/** The ordered environment of `container`; throws ContainerConfigError for a missing required source. */
export function containerEnv(pod: V1Pod, container: V1Container, sources: EnvSources): Map<string, string> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    if (!ref?.name) continue;
    const kind = from.secretRef ? 'secret' : 'configmap';
    const data = from.secretRef
      ? sources.secret(namespace, ref.name)
      : sources.configMap(namespace, ref.name);
    if (data === undefined) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${kind} "${ref.name}" not found`);
    }
    for (const [key, value] of Object.entries(data)) env.set(`${from.prefix ?? ''}${key}`, value.toString());
  }
  for (const v of container.env ?? []) {
    const value =
      v.valueFrom !== undefined
        ? valueFrom(pod, v.valueFrom, sources, namespace)
        : expand(v.value ?? '', (name) => env.get(name));
    if (value !== undefined) env.set(v.name, value);
  }
  return env;
}

function valueFrom(
  pod: V1Pod,
  source: V1EnvVarSource,
  sources: EnvSources,
  namespace: string,
): string | undefined {
  if (source.fieldRef) return fieldRef(pod, source.fieldRef.fieldPath, sources);
  const ref = source.secretKeyRef ?? source.configMapKeyRef;
  if (ref) {
    const kind = source.secretKeyRef ? 'secret' : 'configmap';
    const data = source.secretKeyRef
      ? sources.secret(namespace, ref.name ?? '')
      : sources.configMap(namespace, ref.name ?? '');
    const value = data?.[ref.key]?.toString();
    if (value === undefined && !ref.optional) {
      throw new ContainerConfigError(
        data === undefined
          ? `${kind} "${ref.name}" not found`
          : `couldn't find key ${ref.key} in ${kind} ${namespace}/${ref.name}`,
      );
    }
    return value;
  }
  throw new ContainerConfigError('resourceFieldRef is not supported by the sandbox runtime');
}

/** The value of a downward-API field path, as env vars and downwardAPI volumes see it. */
export function fieldRef(pod: V1Pod, path: string, ips: { podIP: string; hostIP: string }): string {
  const meta = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2] ?? ''] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? 'default';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return ips.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return ips.hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldPath "${path}"`);
  }
}

/** `key="value"` lines, sorted, as the downward API writes labels and annotations. */
function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n');
}

/**
 * A container's argv: `command` (else the image's entrypoint) then `args` (else the image's cmd). Only
 * what the pod spec wrote is expanded, as in Kubernetes.
 */
export function containerArgv(
  container: V1Container,
  image: { entrypoint: string[]; cmd: string[] },
  env: ReadonlyMap<string, string>,
): string[] {
  const ex = (list: string[]) => list.map((a) => expand(a, (name) => env.get(name)));
  if (container.command) return [...ex(container.command), ...ex(container.args ?? [])];
  return [...image.entrypoint, ...(container.args ? ex(container.args) : image.cmd)];
}
