/**
 * etcd-k8s-operator as a library: the etcd.io/v1alpha1 API and the typed errors. Later parts
 * (Kubernetes access, the reconciler runtime, etcd access, PKI, controllers) are exported from here
 * as they land.
 */
export * from './api/index.js';
export * from './errors.js';
export * from './kube/index.js';
export * from './etcd/index.js';
export * from './tls/index.js';
export * from './access/index.js';
export { VERSION } from './version.js';
