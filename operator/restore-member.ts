/**
 * `etcd-operator restore-member`: the restore agent. The operator puts it in the init container of
 * each initial member of a cluster created from a backup (lib/cluster/resources.ts); it makes the
 * member's data directory from the snapshot (lib/backup/restore-member.ts) and exits 0, or exits 0
 * at once when the data directory already holds a member. Storage credentials come from the
 * ETCD_RESTORE_CREDENTIAL_* variables, a volume location from the claim mounted under --claim-root,
 * the etcdutl of the cluster's minor from PATH (etcdutl-3.5, …). Logs are JSON lines on stdout.
 * Exit codes: 0 done, 1 failed, 3 usage error.
 */
import type { StorageLocation } from '../lib/api/index.js';
import { claimsUnder } from '../lib/backup/stores.js';
import { searchPath } from '../lib/backup/etcd-tools.js';
import { credentialsFromEnvironment } from '../lib/backup/restore-credentials.js';
import { restoreMember, type MemberRestoreRequest } from '../lib/backup/restore-member.js';
import { UsageError } from '../lib/errors.js';
import { parseAgentArgs } from './agent-args.js';
import { jsonLogger, reportFailure } from './logging.js';

export const RESTORE_MEMBER = 'restore-member';

const USAGE = `$0 ${RESTORE_MEMBER} [options]

Makes an etcd member's data directory from a snapshot in storage, checked against its size and
SHA-256, with the etcdutl of the cluster's minor; does nothing when the data directory already
holds a member. Run by the operator as an init container of a restored cluster's first members.`;

async function parseRequest(
  argv: string[],
  print: (text: string) => void,
): Promise<{ request: MemberRestoreRequest; claimRoot?: string } | undefined> {
  const required = (describe: string) => ({ type: 'string', demandOption: true, describe }) as const;
  const args = await parseAgentArgs(
    argv,
    USAGE,
    {
      'data-dir': required("The member's etcd --data-dir; must not hold a member yet"),
      name: required("The member's name"),
      'initial-cluster': required('The initial cluster, name=peerURL,… as etcd takes it'),
      'initial-cluster-token': required("The new cluster's token"),
      'initial-advertise-peer-urls': required("The member's peer URL"),
      'etcd-version': required("The cluster's etcd version; the etcdutl of its minor restores"),
      storage: required('The storage location, as the JSON of an EtcdBackup spec.storage'),
      namespace: required('The namespace of the cluster (its credentials Secret and claim)'),
      snapshot: required("The snapshot's key under the storage location"),
      sha256: required("The snapshot's SHA-256, as its manifest records it"),
      size: { type: 'number', demandOption: true, describe: "The snapshot's size in bytes" },
      'claim-root': {
        type: 'string',
        describe: 'Where a volume location’s claim is mounted, as <dir>/<namespace>/<claimName>',
      },
    },
    print,
  );
  if (!args) return undefined;
  let storage: StorageLocation;
  try {
    storage = JSON.parse(args.storage) as StorageLocation;
  } catch {
    throw new UsageError('--storage must be the JSON of a storage location');
  }
  if (!/^[0-9a-f]{64}$/.test(args.sha256)) throw new UsageError('--sha256 must be 64 hex digits');
  if (!Number.isSafeInteger(args.size) || args.size <= 0) throw new UsageError('--size must be a byte count');
  return {
    request: {
      dataDir: args['data-dir'],
      name: args.name,
      initialCluster: args['initial-cluster'],
      initialClusterToken: args['initial-cluster-token'],
      initialAdvertisePeerURLs: args['initial-advertise-peer-urls'],
      etcdVersion: args['etcd-version'],
      storage,
      namespace: args.namespace,
      snapshot: args.snapshot,
      sha256: args.sha256,
      size: args.size,
    },
    ...(args['claim-root'] ? { claimRoot: args['claim-root'] } : {}),
  };
}

export async function runRestoreMember(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed;
  try {
    parsed = await parseRequest(argv, (text) => process.stdout.write(`${text}\n`));
  } catch (err) {
    return reportFailure(err);
  }
  if (!parsed) return 0;
  const logger = jsonLogger(`etcd-operator ${RESTORE_MEMBER}`);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const { request, claimRoot } = parsed;
  try {
    await restoreMember(request, {
      binDirs: searchPath(env.PATH),
      kube: credentialsFromEnvironment(request.storage, request.namespace, env),
      logger,
      signal: stop.signal,
      ...(claimRoot ? { claimDir: claimsUnder(claimRoot) } : {}),
    });
    return 0;
  } catch (err) {
    logger.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'restore failed');
    return reportFailure(err);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
