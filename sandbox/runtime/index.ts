/** The sandbox pod runtime: a kubelet that runs pods as local processes. See sandbox/README.md. */
export { createPodRuntime } from './runtime.js';
export type { Leftovers, PodInfo, PodRuntime, PodRuntimeOptions, RuntimeFaults } from './runtime.js';
export {
  defaultImageRules,
  etcdImages,
  hostImages,
  parseImage,
  projectImages,
  resolveImage,
} from './images.js';
export type { ImageRule, ResolvedImage } from './images.js';
export { FaultUnsupportedError, type NetworkMode } from './network.js';
export { KUBERNETES_BACKOFF, type BackoffPolicy } from './backoff.js';
export { runtimeProcesses, RUNTIME_MARKER } from './proc.js';
export type { RuntimeLogger } from './logger.js';
