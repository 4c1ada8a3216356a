/**
 * The local etcd binaries that hack/etcd-binaries.sh puts in the cache, one set per etcd minor:
 * $CACHE/etcd/vX.Y.Z/{etcd,etcdctl,etcdutl} and $CACHE/etcd/versions.json naming them.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError } from '../lib/errors.js';
import { parseVersion } from '../lib/api/semver.js';
import { etcdToolName } from '../lib/backup/etcd-tools.js';

export interface EtcdBinaries {
  /** The exact version of these binaries, e.g. 3.5.35. */
  version: string;
  etcd: string;
  etcdctl: string;
  /** Absent for 3.4, which has no etcdutl. */
  etcdutl?: string;
}

/** The cache root: $ETCD_K8S_CACHE, else ~/.cache/etcd-k8s-operator. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ETCD_K8S_CACHE ?? join(homedir(), '.cache', 'etcd-k8s-operator');
}

/** The etcd minors in the cache and their exact versions: { '3.5': '3.5.35', … }. */
export function cachedEtcdVersions(cache = cacheDir()): Record<string, string> {
  const file = join(cache, 'etcd', 'versions.json');
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
}

/**
 * The binaries for `version` (`3.5`, `3.5.9` or `v3.5.9`): the cached patch of the same minor. Throws
 * a NotFoundError saying how to provide them when that minor is not in the cache.
 */
export function findEtcd(version: string, cache = cacheDir()): EtcdBinaries {
  const minor = /^v?(\d+\.\d+)/.exec(version)?.[1];
  if (minor === undefined) throw new NotFoundError(`"${version}" is not an etcd version`);
  const exact = cachedEtcdVersions(cache)[minor];
  if (exact === undefined || !parseVersion(exact)) {
    throw new NotFoundError(
      `no etcd ${minor}.x in ${join(cache, 'etcd')}: run hack/etcd-binaries.sh --versions ${minor}`,
    );
  }
  const dir = join(cache, 'etcd', `v${exact}`);
  const etcdutl = join(dir, 'etcdutl');
  return {
    version: exact,
    etcd: join(dir, 'etcd'),
    etcdctl: join(dir, 'etcdctl'),
    ...(existsSync(etcdutl) ? { etcdutl } : {}),
  };
}

/**
 * Every cached minor's binaries under the names the operator image gives them (lib/backup/etcd-tools.ts):
 * `etcd-3.5`, `etcdctl-3.5`, `etcdutl-3.5`, …, `etcd-3.4`, `etcdctl-3.4` → their paths in the cache.
 */
export function versionedEtcdBinaries(cache = cacheDir()): Record<string, string> {
  const bin: Record<string, string> = {};
  for (const minor of Object.keys(cachedEtcdVersions(cache)).sort()) {
    const found = findEtcd(minor, cache);
    for (const tool of ['etcd', 'etcdctl', 'etcdutl'] as const) {
      const path = found[tool];
      if (path) bin[etcdToolName(tool, minor)] = path;
    }
  }
  return bin;
}

/** A directory of links named as versionedEtcdBinaries() names them: a PATH entry for an operator run here. */
export function linkVersionedEtcdBinaries(dir: string, cache = cacheDir()): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, path] of Object.entries(versionedEtcdBinaries(cache))) {
    rmSync(join(dir, name), { force: true });
    symlinkSync(path, join(dir, name));
  }
  return dir;
}
