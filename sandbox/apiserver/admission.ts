/**
 * Admission: hooks that see each create and update of a main resource after schema validation, as
 * validating/mutating webhooks would. A hook may return a changed object and warnings, or throw
 * (a lib ValidationError becomes 422 Invalid with causes; an ApiError is answered as it is).
 * The default list runs lib/api's semantic rules for our etcd.io kinds.
 */
import {
  GROUP,
  parseEtcdBackup,
  parseEtcdCluster,
  validateEtcdBackupUpdate,
  validateEtcdClusterUpdate,
} from '../../lib/api/index.js';
import type { KubeObject, UserInfo } from './types.js';

export interface AdmissionRequest {
  operation: 'CREATE' | 'UPDATE';
  group: string;
  version: string;
  kind: string;
  /** The plural resource name. */
  resource: string;
  namespace?: string;
  name: string;
  object: KubeObject;
  oldObject?: KubeObject;
  user: UserInfo;
}

export interface AdmissionResponse {
  /** A replacement object (a mutating hook). */
  object?: KubeObject;
  /** Shown to the client as `Warning: 299 - "…"` headers. */
  warnings?: string[];
}

export interface AdmissionHook {
  name: string;
  matches(resource: { group: string; resource: string }): boolean;
  admit(request: AdmissionRequest): AdmissionResponse | undefined;
}

/** lib/api's rules for EtcdCluster and EtcdBackup, as the project's validating webhook applies them. */
export function etcdAdmission(): AdmissionHook {
  return {
    name: 'validate.etcd.io',
    matches: ({ group, resource }) =>
      group === GROUP && (resource === 'etcdclusters' || resource === 'etcdbackups'),
    admit(request) {
      if (request.resource === 'etcdclusters') {
        const next = parseEtcdCluster(request.object);
        if (request.oldObject) {
          validateEtcdClusterUpdate(parseEtcdCluster(request.oldObject).object, next.object);
        }
        return { warnings: next.warnings };
      }
      const next = parseEtcdBackup(request.object);
      if (request.oldObject) {
        validateEtcdBackupUpdate(parseEtcdBackup(request.oldObject).object, next.object);
      }
      return { warnings: next.warnings };
    },
  };
}

export function defaultAdmissionHooks(): AdmissionHook[] {
  return [etcdAdmission()];
}
