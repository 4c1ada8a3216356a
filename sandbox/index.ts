/**
 * etcd-k8s-operator/sandbox: a local stand-in for a Kubernetes cluster. The API server emulator
 * (`startApiServer`) is here; the pod runtime's exports join it.
 */
export { startApiServer } from './apiserver/server.js';
export type {
  ApiServer,
  ApiServerOptions,
  PodBackend,
  PodRef,
  ExecIO,
  KubeObject,
} from './apiserver/types.js';
export type { AdmissionHook, AdmissionRequest, AdmissionResponse } from './apiserver/admission.js';
export { defaultAdmissionHooks, etcdAdmission } from './apiserver/admission.js';
export type { FaultInjector, FaultRule } from './apiserver/faults.js';
export type { RequestLog, RequestRecord, RequestFilter } from './apiserver/request-log.js';
export { startSandbox } from './sandbox.js';
export type { Sandbox, SandboxOptions } from './sandbox.js';
export * from './runtime/index.js';
