/**
 * Kubernetes objects as JSON on the wire. client-node's model types declare timestamps as `Date`,
 * but the API server sends RFC 3339 strings, and that is what informers and the client hand back.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';

/** A client-node model type as JSON on the wire: every `Date` is a string. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** metadata as the API server sends it. */
export type ObjectMeta = Wire<V1ObjectMeta>;
