/**
 * A pod's volumes as directories on this machine: emptyDir under the pod's directory, a claim's own
 * directory (made by the kubelet when it binds the claim), hostPath as is, and Secret, ConfigMap,
 * downward-API and projected volumes written with the AtomicWriter (and rewritten on change).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1KeyToPath, V1Pod, V1Volume } from '@kubernetes/client-node';
import { EtcdOperatorError } from '../../lib/errors.js';
import { writeAtomically, type Payload } from './atomic-writer.js';
import { fieldRef } from './env.js';

export interface VolumeSources {
  /** A Secret's data, decoded; undefined if it does not exist. */
  secret(namespace: string, name: string): Record<string, Buffer> | undefined;
  configMap(namespace: string, name: string): Record<string, Buffer> | undefined;
  /** The directory of a bound claim; undefined while it is absent or unbound. */
  claimDir(namespace: string, name: string): string | undefined;
}

/** A volume cannot be set up yet (Kubernetes: FailedMount); the kubelet retries. */
export class VolumeNotReadyError extends EtcdOperatorError {
  override name = 'VolumeNotReadyError';
}

export interface VolumePath {
  path: string;
  readOnly: boolean;
  /** Set for a claim: its name (faults destroy its directory). */
  claim?: string;
}

const DEFAULT_MODE = 0o644;

/** Sets up (or refreshes) every volume of `pod` under `podDir`; throws VolumeNotReadyError. */
export function preparePodVolumes(
  pod: V1Pod,
  podDir: string,
  sources: VolumeSources,
  ips: { podIP: string; hostIP: string },
): Map<string, VolumePath> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const volumes = new Map<string, VolumePath>();
  for (const volume of pod.spec?.volumes ?? []) {
    const dir = join(podDir, 'volumes', volume.name);
    if (volume.persistentVolumeClaim) {
      const claim = volume.persistentVolumeClaim.claimName;
      const path = sources.claimDir(namespace, claim);
      if (path === undefined) {
        throw new VolumeNotReadyError(`persistentvolumeclaim "${claim}" is not bound`);
      }
      volumes.set(volume.name, { path, readOnly: volume.persistentVolumeClaim.readOnly ?? false, claim });
    } else if (volume.hostPath) {
      if (volume.hostPath.type === 'DirectoryOrCreate') mkdirSync(volume.hostPath.path, { recursive: true });
      volumes.set(volume.name, { path: volume.hostPath.path, readOnly: false });
    } else if (volume.emptyDir) {
      mkdirSync(dir, { recursive: true });
      volumes.set(volume.name, { path: dir, readOnly: false });
    } else {
      const payload = projectedPayload(pod, volume, namespace, sources, ips);
      if (payload === undefined) throw new VolumeNotReadyError(`volume "${volume.name}": unsupported type`);
      writeAtomically(dir, payload);
      volumes.set(volume.name, { path: dir, readOnly: true });
    }
  }
  return volumes;
}

/** The files of a Secret, ConfigMap, downward-API or projected volume; undefined for other types. */
function projectedPayload(
  pod: V1Pod,
  volume: V1Volume,
  namespace: string,
  sources: VolumeSources,
  ips: { podIP: string; hostIP: string },
): Payload | undefined {
  const { secret, configMap, downwardAPI, projected } = volume;
  if (secret) {
    const data = sources.secret(namespace, secret.secretName ?? '');
    return keyedPayload(data, `secret "${secret.secretName}"`, secret, secret.defaultMode);
  }
  if (configMap) {
    const data = sources.configMap(namespace, configMap.name ?? '');
    return keyedPayload(data, `configmap "${configMap.name}"`, configMap, configMap.defaultMode);
  }
  if (downwardAPI) return downwardPayload(pod, downwardAPI.items ?? [], downwardAPI.defaultMode, ips);
  if (projected) {
    const payload: Payload = new Map();
    for (const source of projected.sources ?? []) {
      let part: Payload;
      if (source.secret) {
        const data = sources.secret(namespace, source.secret.name ?? '');
        part = keyedPayload(data, `secret "${source.secret.name}"`, source.secret, projected.defaultMode);
      } else if (source.configMap) {
        const data = sources.configMap(namespace, source.configMap.name ?? '');
        part = keyedPayload(
          data,
          `configmap "${source.configMap.name}"`,
          source.configMap,
          projected.defaultMode,
        );
      } else if (source.downwardAPI) {
        part = downwardPayload(pod, source.downwardAPI.items ?? [], projected.defaultMode, ips);
      } else {
        throw new VolumeNotReadyError(`volume "${volume.name}": unsupported projection`);
      }
      for (const [path, file] of part) payload.set(path, file);
    }
    return payload;
  }
  return undefined;
}

function keyedPayload(
  data: Record<string, Buffer> | undefined,
  what: string,
  source: { items?: V1KeyToPath[]; optional?: boolean },
  defaultMode = DEFAULT_MODE,
): Payload {
  const payload: Payload = new Map();
  if (data === undefined) {
    if (source.optional) return payload;
    throw new VolumeNotReadyError(`${what} not found`);
  }
  const items: V1KeyToPath[] = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) {
      if (source.optional) continue;
      throw new VolumeNotReadyError(`${what} has no key "${item.key}"`);
    }
    payload.set(item.path, { data: value, mode: item.mode ?? defaultMode });
  }
  return payload;
}

function downwardPayload(
  pod: V1Pod,
  items: { path: string; fieldRef?: { fieldPath: string }; mode?: number }[],
  defaultMode = DEFAULT_MODE,
  ips: { podIP: string; hostIP: string },
): Payload {
  const payload: Payload = new Map();
  for (const item of items) {
    if (!item.fieldRef)
      throw new VolumeNotReadyError(`downwardAPI "${item.path}": only fieldRef is supported`);
    payload.set(item.path, {
      data: Buffer.from(fieldRef(pod, item.fieldRef.fieldPath, ips)),
      mode: item.mode ?? defaultMode,
    });
  }
  return payload;
}
