/**
 * Finalizer helpers. A merge patch replaces the finalizer list whole, so it carries the
 * resourceVersion the caller read (controller-runtime's optimistic-lock merge patch): a list changed
 * meanwhile fails with a ConflictError rather than losing someone else's finalizer. (A JSON patch
 * `test` would fail with 422 Invalid on a real API server, which reads as a bug, not a race.)
 */
import type { KubeWriter, WriteOptions } from './client.js';
import { objectKey } from './keys.js';
import type { KubeObject, ResourceType } from './resources.js';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** Adds or removes one finalizer; returns the object as it now is (the same object when nothing changes). */
export type FinalizerChange = <T extends KubeObject>(
  client: Pick<KubeWriter, 'patch'>,
  type: ResourceType<T>,
  obj: T,
  finalizer: string,
  options?: WriteOptions,
) => Promise<T>;

export const addFinalizer: FinalizerChange = async (client, type, obj, finalizer, options = {}) =>
  hasFinalizer(obj, finalizer)
    ? obj
    : setFinalizers(client, type, obj, [...(obj.metadata?.finalizers ?? []), finalizer], options);

export const removeFinalizer: FinalizerChange = async (client, type, obj, finalizer, options = {}) =>
  hasFinalizer(obj, finalizer)
    ? setFinalizers(
        client,
        type,
        obj,
        (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer),
        options,
      )
    : obj;

function setFinalizers<T extends KubeObject>(
  client: Pick<KubeWriter, 'patch'>,
  type: ResourceType<T>,
  obj: T,
  finalizers: string[],
  options: WriteOptions,
): Promise<T> {
  const body = { metadata: { finalizers, resourceVersion: obj.metadata?.resourceVersion } };
  return client.patch(type, objectKey(obj), { type: 'merge', body }, options);
}
