/**
 * lib/api: the etcd.io/v1alpha1 resources — their types, parsing with the API server's defaults and
 * validation, and the rules a schema cannot say. Used alike by the operator, the plugin and the
 * sandbox API server.
 */
export type * from '../../generated/types.js';
export { crds, etcdclusterCrd, etcdbackupCrd } from '../../generated/crds.js';
export { GROUP, VERSION, GROUP_VERSION } from './group.js';
export type { Parsed } from './resource.js';
export { withTransitions, type ConditionInput } from './conditions.js';
export { parseEtcdCluster, validateEtcdClusterUpdate, MAX_CLUSTER_NAME } from './etcdcluster.js';
export { parseEtcdBackup, validateEtcdBackupUpdate, cronProblem } from './etcdbackup.js';
export { parseQuantity, formatBytes } from './quantity.js';
export {
  s3BucketProblem,
  gcsBucketProblem,
  objectNameProblem,
  checkStorageLocation,
} from './storage-names.js';
export { imageReferenceProblem, imageRepositoryProblem, parseImageReference } from './image-reference.js';
export { parseDuration } from './duration.js';
export { parseVersion, minorVersion, compareVersions, formatVersion, type Version } from './semver.js';
export { toAjvSchema, type JSONSchemaProps } from './openapi.js';
export { newAjv, toFieldErrors, fieldPath } from './schema-validation.js';
export { structuralViolations } from './structural.js';
export {
  dns1035LabelProblem,
  dns1123SubdomainProblem,
  qualifiedNameProblem,
  labelValueProblem,
} from './names.js';
