/**
 * EtcdCluster: parse (schema defaults + validation, as the API server applies them) and the rules a
 * schema cannot say, for creation and for updates.
 */
import type { EtcdCluster, EtcdClusterSpec } from '../../generated/types.js';
import { validateEtcdCluster } from '../../generated/validators.js';
import { validateEtcdClusterSchema } from '../../generated/validation-schemas.js';
import { parseDuration } from './duration.js';
import { imageRepositoryProblem } from './image-reference.js';
import { dns1035LabelProblem, labelValueProblem, qualifiedNameProblem } from './names.js';
import { Problems } from './problems.js';
import { formatBytes, parseQuantity } from './quantity.js';
import { parseResource, type Parsed } from './resource.js';
import { compareVersions, parseVersion } from './semver.js';
import { checkStorageLocation } from './storage-names.js';

/** The longest cluster name: member Pods are named `<cluster>-<id>` and must stay DNS labels. */
export const MAX_CLUSTER_NAME = 52;
/** etcd releases before 3.4 have no learners, which every scale-up relies on. */
const OLDEST_SUPPORTED = { major: 3, minor: 4, patch: 0 };
/** etcd refuses a backend quota above 8 GiB without a warning in its own docs. */
const QUOTA_ADVICE = 8n * 1024n ** 3n;
/** Flags the operator derives from the spec or from the cluster's topology. */
const OWNED_FLAGS = [
  /^name$/,
  /^data-dir$/,
  /^wal-dir$/,
  /^(listen|advertise|initial)-/,
  /^(peer-)?(cert|key|trusted-ca)-file$/,
  /^(peer-)?client-cert-auth$/,
  /^(peer-)?auto-tls$/,
  /^discovery/,
  /^force-new-cluster$/,
  /^enable-v2$/,
];
const TYPED_FLAGS: Record<string, string> = {
  'quota-backend-bytes': 'quotaBackendBytes',
  'auto-compaction-mode': 'autoCompactionMode',
  'auto-compaction-retention': 'autoCompactionRetention',
  'snapshot-count': 'snapshotCount',
  'heartbeat-interval': 'heartbeatIntervalMillis',
  'election-timeout': 'electionTimeoutMillis',
  'max-request-bytes': 'maxRequestBytes',
};
/** Label prefixes the operator sets on its Pods to find them; users may not override them. */
const RESERVED_LABEL_PREFIXES = ['etcd.io/', 'app.kubernetes.io/'];
const TLS_CHANGE_PATH =
  'it is fixed at creation: back up the cluster and restore into a new one (docs/api.md#tls)';

/**
 * Parses a manifest as the API server would store it: defaults applied, schema and semantic rules
 * checked. Throws a ValidationError naming every wrong field; returns the warnings beside the object.
 * The input is not modified.
 */
export function parseEtcdCluster(input: unknown): Parsed<EtcdCluster> {
  return parseResource<EtcdCluster>(
    input,
    'EtcdCluster',
    validateEtcdCluster,
    validateEtcdClusterSchema,
    checkCluster,
  );
}

function checkCluster(cluster: EtcdCluster, p: Problems): void {
  const name = cluster.metadata.name;
  if (name !== undefined) {
    const problem = dns1035LabelProblem(name, MAX_CLUSTER_NAME);
    if (problem) p.invalid('metadata.name', problem);
  }
  checkSpec(cluster.spec, p);
}

function checkSpec(spec: EtcdClusterSpec, p: Problems): void {
  const version = parseVersion(spec.version);
  if (version && compareVersions(version, OLDEST_SUPPORTED) < 0) {
    p.invalid('spec.version', `etcd ${spec.version} is not supported: use 3.4.0 or later`);
  }
  const repositoryProblem = imageRepositoryProblem(spec.repository);
  if (repositoryProblem) p.invalid('spec.repository', repositoryProblem);
  if (spec.size % 2 === 0) {
    p.warn(
      'spec.size',
      `${spec.size} members tolerate no more failures than ${spec.size - 1}; prefer an odd size`,
    );
  }

  const storageBytes = quantityField(spec.storage.size, 'spec.storage.size', p);
  if (storageBytes === 0n) p.invalid('spec.storage.size', 'must be greater than 0');
  if (spec.etcd.quotaBackendBytes !== undefined) {
    const quota = quantityField(spec.etcd.quotaBackendBytes, 'spec.etcd.quotaBackendBytes', p);
    if (quota !== undefined && storageBytes !== undefined && quota > storageBytes) {
      p.invalid(
        'spec.etcd.quotaBackendBytes',
        `must not exceed spec.storage.size (${formatBytes(storageBytes)}): etcd would run out of disk before raising NOSPACE`,
      );
    } else if (quota !== undefined && quota > QUOTA_ADVICE) {
      p.warn(
        'spec.etcd.quotaBackendBytes',
        'etcd advises at most 8Gi; larger databases make snapshots and restarts slow',
      );
    }
  }

  const { etcd } = spec;
  if (etcd.autoCompactionMode === 'revision' && !/^[0-9]+$/.test(etcd.autoCompactionRetention)) {
    p.invalid(
      'spec.etcd.autoCompactionRetention',
      'must be a number of revisions with autoCompactionMode revision',
    );
  }
  if (etcd.electionTimeoutMillis < 5 * etcd.heartbeatIntervalMillis) {
    p.invalid(
      'spec.etcd.electionTimeoutMillis',
      `must be at least 5 times heartbeatIntervalMillis (${5 * etcd.heartbeatIntervalMillis})`,
    );
  }
  for (const flag of Object.keys(etcd.extraArgs ?? {})) {
    const field = `spec.etcd.extraArgs.${flag}`;
    if (!/^[a-z0-9][a-z0-9-]*$/.test(flag)) p.invalid(field, 'must be a flag name without leading dashes');
    else if (TYPED_FLAGS[flag]) p.forbidden(field, `set spec.etcd.${TYPED_FLAGS[flag]} instead`);
    else if (OWNED_FLAGS.some((re) => re.test(flag))) p.forbidden(field, 'the operator sets this flag');
  }

  checkTls(spec, p);
  checkPod(spec, p);
  const source = spec.bootstrap?.restore?.source;
  if (source) checkStorageLocation(source.storage, 'spec.bootstrap.restore.source.storage', p);
}

function checkTls(spec: EtcdClusterSpec, p: Problems): void {
  const tls = spec.security.tls;
  const provided = tls.enabled && tls.issuer === 'Provided';
  if (provided && tls.secrets === undefined) p.required('spec.security.tls.secrets');
  if (!provided && tls.secrets !== undefined) {
    p.forbidden('spec.security.tls.secrets', 'only with enabled: true and issuer: Provided');
  }
  const validity = parseDuration(tls.certificateValidity);
  const ca = parseDuration(tls.caValidity);
  const renew = parseDuration(tls.renewBefore);
  if (validity !== undefined && renew !== undefined && renew >= validity) {
    p.invalid('spec.security.tls.renewBefore', 'must be shorter than certificateValidity');
  }
  if (validity !== undefined && ca !== undefined && validity > ca) {
    p.invalid('spec.security.tls.certificateValidity', 'must not exceed caValidity');
  }
}

function checkPod(spec: EtcdClusterSpec, p: Problems): void {
  for (const [key, value] of Object.entries(spec.pod?.labels ?? {})) {
    const field = `spec.pod.labels.${key}`;
    const problem = qualifiedNameProblem(key) ?? labelValueProblem(value ?? '');
    if (problem) p.invalid(field, problem);
    else if (RESERVED_LABEL_PREFIXES.some((prefix) => key.startsWith(prefix))) {
      p.forbidden(field, 'the operator owns labels under etcd.io/ and app.kubernetes.io/');
    }
  }
  for (const key of Object.keys(spec.pod?.annotations ?? {})) {
    const problem = qualifiedNameProblem(key);
    if (problem) p.invalid(`spec.pod.annotations.${key}`, problem);
  }
}

/** The rules for changing a stored cluster into `next` (both already parsed); throws a ValidationError. */
export function validateEtcdClusterUpdate(previous: EtcdCluster, next: EtcdCluster): void {
  const p = new Problems();
  const [a, b] = [previous.spec, next.spec];

  const before = parseQuantity(a.storage.size);
  const after = parseQuantity(b.storage.size);
  if (before !== undefined && after !== undefined && after < before) {
    p.forbidden('spec.storage.size', `may not shrink (from ${formatBytes(before)} to ${formatBytes(after)})`);
  }
  if (a.storage.type !== b.storage.type) p.forbidden('spec.storage.type', 'is immutable');
  if (a.storage.storageClassName !== b.storage.storageClassName) {
    p.forbidden('spec.storage.storageClassName', 'is immutable');
  }

  const from = parseVersion(a.version);
  const to = parseVersion(b.version);
  if (from && to) {
    if (compareVersions(to, from) < 0) {
      p.forbidden('spec.version', `may not be downgraded (from ${a.version} to ${b.version})`);
    } else if (to.major !== from.major || to.minor > from.minor + 1) {
      p.forbidden(
        'spec.version',
        `cannot upgrade from ${a.version} to ${b.version} in one step: upgrade to ${from.major}.${from.minor + 1} first`,
      );
    }
  }

  if (a.security.tls.enabled !== b.security.tls.enabled)
    p.forbidden('spec.security.tls.enabled', TLS_CHANGE_PATH);
  else if (a.security.tls.issuer !== b.security.tls.issuer)
    p.forbidden('spec.security.tls.issuer', TLS_CHANGE_PATH);

  if (JSON.stringify(a.bootstrap ?? null) !== JSON.stringify(b.bootstrap ?? null)) {
    p.forbidden('spec.bootstrap', 'is immutable: it only applies when the cluster is created');
  }
  p.throwIfAny('EtcdCluster');
}

function quantityField(value: number | string, field: string, p: Problems): bigint | undefined {
  const bytes = parseQuantity(value);
  if (bytes === undefined) p.invalid(field, 'must be a quantity such as 10Gi, 512Mi or 2G');
  return bytes;
}
