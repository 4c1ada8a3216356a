/**
 * lib/kube: the reconciler runtime over @kubernetes/client-node — a typed client, informers and
 * their cache, the work queue, controllers, leader election, events, finalizers and metrics.
 * Nothing here reads the environment or owns a global: the KubeConfig, clock, logger and metrics
 * registry are passed in.
 */
export { apiError, type Status } from './api-errors.js';
export { backoffDelay, jittered, WATCH_BACKOFF, type BackoffPolicy } from './backoff.js';
export {
  Cache,
  clientSources,
  InformerGroup,
  type CacheListOptions,
  type CacheOptions,
  type SourceFactory,
} from './cache.js';
export {
  KubeClient,
  type ApplyOptions,
  type DeleteOptions,
  type JsonPatchOperation,
  type KubeClientOptions,
  type KubeReader,
  type KubeStatusWriter,
  type KubeWriter,
  type ListOptions,
  type ObjectList,
  type Patch,
  type PatchOptions,
  type RequestOptions,
  type Scale,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from './client.js';
export { sleep, systemClock, type Clock, type TimerHandle } from './clock.js';
export {
  Controller,
  controllerOwnerKey,
  type ControllerDeps,
  type ControllerOptions,
  type ReconcileContext,
  type Reconciler,
  type ReconcileResult,
  type Watch,
  watch,
} from './controller.js';
export { EventRecorder, type EventRecorderOptions, type EventType } from './events.js';
export { addFinalizer, hasFinalizer, removeFinalizer, type FinalizerChange } from './finalizers.js';
export {
  clientSource,
  Informer,
  type EventHandler,
  type InformerOptions,
  type InformerScope,
  type ListWatchSource,
} from './informer.js';
export { formatKey, objectKey, parseKey, type ObjectKey } from './keys.js';
export {
  formatLabelSelector,
  matchesLabelSelector,
  type LabelSelector,
  type SelectorOperator,
  type SelectorRequirement,
} from './labels.js';
export {
  decideLease,
  LeaderElector,
  type LeaderElectionConfig,
  type LeaderElectorOptions,
  type LeaseDecision,
  type LeaseSpec,
} from './leader-election.js';
export { silentLogger, type Logger } from './logger.js';
export { Manager, type ManagerOptions } from './manager.js';
export { createKubeMetrics, type KubeMetrics } from './metrics.js';
export {
  ControllerRateLimiter,
  TokenBucket,
  type RateLimiter,
  type RateLimiterOptions,
} from './rate-limit.js';
export {
  ConfigMaps,
  CustomResourceDefinitions,
  EtcdBackups,
  EtcdClusters,
  Events,
  Leases,
  Namespaces,
  PersistentVolumeClaims,
  PodDisruptionBudgets,
  Pods,
  resourcePath,
  resourceType,
  Secrets,
  Services,
  type ConfigMap,
  type CustomResourceDefinition,
  type Event,
  type KubeObject,
  type Lease,
  type Namespace,
  type ObjectMeta,
  type OwnerReference,
  type PathOptions,
  type PersistentVolumeClaim,
  type Pod,
  type PodDisruptionBudget,
  type ResourceType,
  type Secret,
  type Service,
  type Wire,
} from './resources.js';
export type { StoreQuery, StoreReader } from './store.js';
export { microTime, rfc3339 } from './timestamps.js';
export { WorkQueue, type WorkQueueOptions } from './workqueue.js';
