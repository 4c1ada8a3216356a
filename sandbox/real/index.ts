/**
 * sandbox/real: a real kube-apiserver (and optionally kube-controller-manager) on loopback, behind
 * the sandbox API server's interface, to test against what Kubernetes actually does.
 */
export {
  startRealApiServer,
  installCrd,
  statusMessage,
  SANDBOX_CONTROLLERS,
  type RealApiServer,
  type RealApiServerOptions,
} from './apiserver.js';
export { findKubeBinary, type KubeBinary, type KubeBinaryName } from './binaries.js';
export type { UserSpec } from './credentials.js';
export { request, type RawRequest, type RawResponse } from './http.js';
export { processesMentioning, reapOrphans } from './leftovers.js';
