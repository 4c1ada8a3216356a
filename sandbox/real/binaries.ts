/**
 * The Kubernetes binaries (and krew) that hack/kube-binaries.sh builds into the cache, as named by
 * $CACHE/kube/versions.json: { "kube-apiserver": { "version": "v1.37.2", "path": "…" }, … }.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '../../lib/errors.js';
import { cacheDir } from '../binaries.js';

export type KubeBinaryName = 'kube-apiserver' | 'kube-controller-manager' | 'krew' | 'validate-krew-manifest';

/** The `hack/kube-binaries.sh --only` target that builds each one, and how long that takes on 2 cores. */
const BUILDS: Record<KubeBinaryName, [only: string, takes: string]> = {
  'kube-apiserver': ['kube-apiserver', 'about 7 minutes'],
  'kube-controller-manager': ['kube-controller-manager', 'about 7 minutes'],
  krew: ['krew', 'about a minute'],
  'validate-krew-manifest': ['krew', 'about a minute'],
};

export interface KubeBinary {
  /** As the binary reports it, e.g. v1.37.2. */
  version: string;
  path: string;
}

/** The cached binary `name`; a NotFoundError saying how to build it when it is not there. */
export function findKubeBinary(name: KubeBinaryName, cache = cacheDir()): KubeBinary {
  const file = join(cache, 'kube', 'versions.json');
  const listed = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Partial<KubeBinary>>)[name]
    : undefined;
  const [only, takes] = BUILDS[name];
  const build = `hack/kube-binaries.sh --only ${only}`;
  if (listed?.path === undefined || listed.version === undefined) {
    throw new NotFoundError(`no ${name} in ${file}: build it with ${build} (${takes} on 2 cores)`);
  }
  try {
    accessSync(listed.path, constants.X_OK);
  } catch (err) {
    throw new NotFoundError(
      `${name} ${listed.version} is listed in ${file} but ${listed.path} is not executable: run ${build}`,
      {
        cause: err,
      },
    );
  }
  return { version: listed.version, path: listed.path };
}
