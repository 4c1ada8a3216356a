/** The public shapes of the sandbox API server, and the object model its modules share. */
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { AdmissionHook } from './admission.js';
import type { FaultInjector } from './faults.js';
import type { RequestLog } from './request-log.js';

export interface ApiServerOptions {
  /** 0 or undefined: an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default true: HTTPS with a generated serving certificate; false: plain HTTP for debugging. */
  tls?: boolean;
  /** Bearer-token users besides `admin` (always present, in system:masters). A missing token is generated. */
  users?: Record<string, { token?: string; groups?: string[] }>;
  /** exec, port-forward and logs are handed to it; without one they answer 503 ServiceUnavailable. */
  podBackend?: PodBackend;
  /** CRDs installed at start, e.g. generated/crds.ts `crds`. */
  crds?: object[];
  /** How many watch events are kept for resuming a watch; older versions answer 410 Gone. Default 10000. */
  historyWindow?: number;
  clock?: () => Date;
  /**
   * Admission hooks run on create/update of the main resource, in order, after schema validation.
   * Default: `defaultAdmissionHooks()` (lib/api's rules for etcd.io kinds).
   */
  admission?: AdmissionHook[];
  /** How often a watch that allows bookmarks gets one; default 60 s (`faults.sendBookmarks()` sends now). */
  bookmarkIntervalMs?: number;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface ExecIO {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  tty: boolean;
}

export interface PodBackend {
  /** A byte stream to the pod's TCP port. */
  portForward(pod: PodRef, port: number): Promise<Duplex>;
  exec(pod: PodRef, container: string, command: string[], io: ExecIO): Promise<{ exitCode: number }>;
  logs(
    pod: PodRef,
    container: string,
    options: { follow?: boolean; tailLines?: number; previous?: boolean },
  ): Promise<Readable>;
}

export interface ApiServer {
  /** https://127.0.0.1:PORT (http:// with tls: false). */
  url: string;
  /** PEM of the CA that signed the serving certificate ('' with tls: false). */
  caCert: string;
  /** kubeconfig YAML for `user` (default 'admin'), embedding the CA and the user's token. */
  kubeconfig(user?: string): string;
  writeKubeconfig(path: string, user?: string): void;
  /** The token of `user`; throws for an unknown user. */
  token(user?: string): string;
  requests: RequestLog;
  faults: FaultInjector;
  /** Closes every connection and watch. */
  stop(): Promise<void>;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: V1OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface UserInfo {
  name: string;
  groups: string[];
}
