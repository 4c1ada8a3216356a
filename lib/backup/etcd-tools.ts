/**
 * Where the etcd binaries a restore needs are found. The operator's image carries one set per etcd
 * minor it can restore, named by tool and minor — `etcd-3.5`, `etcdutl-3.5`, `etcd-3.6`,
 * `etcdutl-3.6`, `etcd-3.4`, `etcdctl-3.4` — so that a snapshot is always restored by the tools of
 * the cluster's own minor (3.4 has no etcdutl: its etcdctl restores). The restore agent in a member's
 * init container and the operator's test restore look them up here, on their PATH.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { minorVersion } from '../api/semver.js';
import { NotFoundError, UsageError } from '../errors.js';

export type EtcdTool = 'etcd' | 'etcdutl' | 'etcdctl';

/** The tool that runs `snapshot restore` for an etcd minor, and how it is called. */
export interface SnapshotRestoreTool {
  path: string;
  command: 'etcdutl' | 'etcdctl';
}

/** `etcdutl-3.5`: the name the image gives a tool of an etcd minor. */
export function etcdToolName(tool: EtcdTool, minor: string): string {
  return `${tool}-${minor}`;
}

/** The minor (`3.5`) of an etcd version (`3.5.9`, `v3.5.9` or `3.5`); UsageError for anything else. */
export function etcdMinor(version: string): string {
  const minor = minorVersion(version);
  if (minor === undefined) throw new UsageError(`"${version}" is not an etcd version`);
  return minor;
}

/** etcdctl restored snapshots up to 3.4; from 3.5 etcdutl does (3.6 removed it from etcdctl). */
export function snapshotRestoreCommand(version: string): SnapshotRestoreTool['command'] {
  const [major, minor] = etcdMinor(version).split('.').map(Number);
  return major === 3 && (minor ?? 0) < 5 ? 'etcdctl' : 'etcdutl';
}

/**
 * The executable `<tool>-<minor>` in the first of `dirs` that has it (a PATH split on `:`); a
 * NotFoundError naming what was looked for, and where, when none does.
 */
export function findEtcdTool(tool: EtcdTool, version: string, dirs: readonly string[]): string {
  const name = etcdToolName(tool, etcdMinor(version));
  for (const dir of dirs) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  throw new NotFoundError(
    `no ${name} in ${dirs.filter(Boolean).join(':') || '(an empty PATH)'}: the operator image carries etcd-<minor> and etcdutl-<minor> (etcdctl-3.4) for each etcd minor it restores`,
  );
}

/** The `snapshot restore` tool of `version`'s minor. */
export function findSnapshotRestoreTool(version: string, dirs: readonly string[]): SnapshotRestoreTool {
  const command = snapshotRestoreCommand(version);
  return { command, path: findEtcdTool(command, version, dirs) };
}

/** A PATH value as the directories it names. */
export function searchPath(path: string | undefined): string[] {
  return (path ?? '').split(':').filter(Boolean);
}
