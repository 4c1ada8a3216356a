/**
 * The image map: how a container image becomes executables on this machine. There is no registry: an
 * image is a set of binaries put at /usr/local/bin in the container, and an entrypoint/cmd.
 */
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '../../lib/errors.js';
import { findEtcd, versionedEtcdBinaries } from '../binaries.js';

export interface ResolvedImage {
  /** Executables the image has in /usr/local/bin: name → path on this machine. */
  bin: Record<string, string>;
  /** The image's ENTRYPOINT and CMD (used when the container gives no `command` / `args`). */
  entrypoint: string[];
  cmd: string[];
  /** Set when the image was served by a different version than it names. */
  substituted?: { asked: string; used: string };
}

/** One entry of the image map: resolves the images it knows, undefined for the others. */
export type ImageRule = (image: string) => ResolvedImage | undefined;

export interface ImageRef {
  /** Everything before the tag: `quay.io/coreos/etcd`. */
  repository: string;
  /** The last path segment of the repository: `etcd`. */
  name: string;
  tag: string;
}

export function parseImage(image: string): ImageRef {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = hasTag ? noDigest.slice(0, colon) : noDigest;
  return {
    repository,
    name: repository.slice(repository.lastIndexOf('/') + 1),
    tag: hasTag ? noDigest.slice(colon + 1) : 'latest',
  };
}

/**
 * Any etcd image (`<any repository>/etcd:vX.Y.Z`, also registry.k8s.io's `3.5.9-0` tags): the cached
 * etcd of that minor, nearest patch; etcd, etcdctl and etcdutl on PATH as in the official image.
 */
export function etcdImages(cache?: string): ImageRule {
  return (image) => {
    const ref = parseImage(image);
    const version = /^v?(\d+\.\d+\.\d+)/.exec(ref.tag)?.[1];
    if (ref.name !== 'etcd' || version === undefined) return undefined;
    const found = cache === undefined ? findEtcd(version) : findEtcd(version, cache);
    const bin: Record<string, string> = { etcd: found.etcd, etcdctl: found.etcdctl };
    if (found.etcdutl) bin.etcdutl = found.etcdutl;
    return {
      bin,
      entrypoint: [],
      cmd: ['/usr/local/bin/etcd'],
      ...(found.version !== version ? { substituted: { asked: version, used: found.version } } : {}),
    };
  };
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * This project's own image (`…/etcd-k8s-operator` or `…/etcd-operator`, any tag): its built entry
 * points, and the etcd binaries of every cached minor under their versioned names (`etcdutl-3.5`,
 * `etcd-3.6`, `etcdctl-3.4`, …), as the real image carries them for restores (docs/restore.md).
 */
export function projectImages(root = REPO_ROOT, node = process.execPath, cache?: string): ImageRule {
  return (image) => {
    const { name } = parseImage(image);
    if (name !== 'etcd-k8s-operator' && name !== 'etcd-operator') return undefined;
    const etcdTools = cache === undefined ? versionedEtcdBinaries() : versionedEtcdBinaries(cache);
    return {
      // The entry points are node scripts (`#!/usr/bin/env node`): the image carries node, as a real one would.
      bin: {
        'etcd-operator': `${root}bin/etcd-operator`,
        'kubectl-etcd': `${root}bin/kubectl-etcd`,
        node,
        ...etcdTools,
      },
      entrypoint: ['/usr/local/bin/etcd-operator'],
      cmd: [],
    };
  };
}

/**
 * Images served by this machine's own tools (its /bin, /usr/bin): `busybox` and the like, for pods
 * that run shell commands. Keyed by image name (last repository segment), value the image's CMD.
 */
export function hostImages(images: Record<string, string[]> = { busybox: ['sh'] }): ImageRule {
  return (image) => {
    const cmd = images[parseImage(image).name];
    return cmd === undefined ? undefined : { bin: {}, entrypoint: [], cmd };
  };
}

export function defaultImageRules(): ImageRule[] {
  return [etcdImages(), projectImages(), hostImages()];
}

/** The first rule that knows `image`; NotFoundError (the pod shows ErrImagePull) when none does. */
export function resolveImage(rules: readonly ImageRule[], image: string): ResolvedImage {
  for (const rule of rules) {
    const resolved = rule(image);
    if (resolved) return resolved;
  }
  throw new NotFoundError(`image "${image}" is not in the sandbox image map`);
}
