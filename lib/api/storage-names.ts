/**
 * The names inside a StorageLocation: bucket names by their providers' rules, and the Kubernetes
 * names (claims, Secrets, Secret keys) by apimachinery's. Each `…Problem` function returns what is
 * wrong with a name in one line, or undefined when it is fine.
 */
import type { StorageLocation } from '../../generated/types.js';
import { dns1123SubdomainProblem } from './names.js';
import type { Problems } from './problems.js';

/** Dotted-decimal, as both providers refuse it: four groups of 1–3 digits. */
const DOTTED_DECIMAL = /^\d{1,3}(\.\d{1,3}){3}$/;
const ALPHANUMERIC = /^[a-z0-9]$/;

/** Prefixes and suffixes AWS reserves for its own names (access point aliases, directory buckets, …). */
const S3_RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const S3_RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/**
 * The problem with an S3 bucket name by AWS's rules for general purpose buckets, or undefined.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function s3BucketProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be 3 to 63 characters (not ${name.length})`;
  const bad = firstOutside(name, /[a-z0-9.-]/);
  if (bad !== undefined) return `must be lowercase letters, digits, dots and hyphens (no ${quote(bad)})`;
  const edge = badEdge(name);
  if (edge !== undefined) return `must begin and end with a letter or digit (not ${quote(edge)})`;
  if (name.includes('..')) return 'must not contain two adjacent dots ("..")';
  if (DOTTED_DECIMAL.test(name)) return 'must not be an IP address';
  const prefix = S3_RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined) return `must not begin with ${quote(prefix)} (reserved by AWS)`;
  const suffix = S3_RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix !== undefined) return `must not end with ${quote(suffix)} (reserved by AWS)`;
  return undefined;
}

/**
 * The problem with a Cloud Storage bucket name by Google's rules, or undefined.
 * https://cloud.google.com/storage/docs/buckets#naming
 */
export function gcsBucketProblem(name: string): string | undefined {
  const dotted = name.includes('.');
  if (name.length < 3) return `must be at least 3 characters (not ${name.length})`;
  if (!dotted && name.length > 63) {
    return `must be at most 63 characters, or 222 with dots (not ${name.length})`;
  }
  if (name.length > 222) return `must be at most 222 characters (not ${name.length})`;
  const bad = firstOutside(name, /[a-z0-9._-]/);
  if (bad !== undefined) {
    return `must be lowercase letters, digits, dashes, underscores and dots (no ${quote(bad)})`;
  }
  const edge = badEdge(name);
  if (edge !== undefined) return `must begin and end with a letter or digit (not ${quote(edge)})`;
  const long = name.split('.').find((component) => component.length > 63);
  if (long !== undefined) {
    return `each dot-separated part must be at most 63 characters (${quote(long.slice(0, 12) + '…')} has ${long.length})`;
  }
  if (DOTTED_DECIMAL.test(name)) return 'must not be an IP address';
  if (name.startsWith('goog')) return 'must not begin with "goog" (reserved by Google)';
  const google = /g[o0][o0]gle/.exec(name);
  if (google) return `must not contain ${quote(google[0])} (reserved by Google)`;
  return undefined;
}

/** The problem with the name of a namespaced object (a PersistentVolumeClaim, a Secret), or undefined. */
export function objectNameProblem(name: string): string | undefined {
  const problem = dns1123SubdomainProblem(name);
  if (problem === undefined || name.length > 253) return problem;
  const bad = firstOutside(name, /[a-z0-9.-]/) ?? badEdge(name);
  return bad === undefined ? problem : `${problem} (not ${quote(bad)})`;
}

/** The problem with a key of a Secret's data (apimachinery's IsConfigMapKey), or undefined. */
export function secretKeyProblem(key: string): string | undefined {
  if (key.length > 253) return `must be no more than 253 characters (not ${key.length})`;
  const bad = firstOutside(key, /[-._a-zA-Z0-9]/);
  if (bad !== undefined || key === '') {
    return `must consist of alphanumeric characters, "-", "_" or "."${bad === undefined ? '' : ` (not ${quote(bad)})`}`;
  }
  if (key === '.' || key === '..' || key.startsWith('..'))
    return 'must not be "." or "..", or start with ".."';
  return undefined;
}

/**
 * Adds to `p` a field error for every malformed name in a storage location at `path` (such as
 * `spec.storage`): the bucket, the claim, and the credentials Secret and its key.
 */
export function checkStorageLocation(location: StorageLocation, path: string, p: Problems): void {
  const check = (field: string, value: string | undefined, problemOf: (v: string) => string | undefined) => {
    const problem = value === undefined ? undefined : problemOf(value);
    if (problem) p.invalid(`${path}.${field}`, problem);
  };
  const { s3, gcs, volume } = location;
  if (s3) {
    check('s3.bucket', s3.bucket, s3BucketProblem);
    check('s3.credentialsSecret.name', s3.credentialsSecret?.name, objectNameProblem);
  }
  if (gcs) {
    check('gcs.bucket', gcs.bucket, gcsBucketProblem);
    check('gcs.credentialsSecret.name', gcs.credentialsSecret?.name, objectNameProblem);
    check('gcs.credentialsSecret.key', gcs.credentialsSecret?.key, secretKeyProblem);
  }
  if (volume) check('volume.claimName', volume.claimName, objectNameProblem);
}

/** The first character of `value` that `allowed` (a one-character class) does not match. */
function firstOutside(value: string, allowed: RegExp): string | undefined {
  return [...value].find((c) => !allowed.test(c));
}

/** The first or last character when it is not a lowercase letter or digit. */
function badEdge(value: string): string | undefined {
  const first = value.charAt(0);
  const last = value.charAt(value.length - 1);
  if (!ALPHANUMERIC.test(first)) return first;
  if (!ALPHANUMERIC.test(last)) return last;
  return undefined;
}

function quote(s: string): string {
  return JSON.stringify(s);
}
