/**
 * Opens the SnapshotStore a StorageLocation names. Credentials are read from their Secret here, by
 * the process that uploads, and go only to the storage SDK: never to a log, an Event or status.
 * The S3 and GCS adapters are imported when first opened: their SDKs (~1 MB bundled) would cost
 * every kubectl etcd command that never touches a bucket (plugin/bundling.ts).
 */
import { join } from 'node:path';
import type { StorageLocation } from '../../generated/types.js';
import { UsageError } from '../errors.js';
import { Secrets, type KubeReader } from '../kube/index.js';
import type { S3Credentials } from './s3-store.js';
import type { SnapshotStore } from './store.js';
import { createVolumeStore } from './volume-store.js';

export interface StoreContext {
  /** Reads the credentials Secrets. */
  kube: KubeReader;
  /** The namespace of the resource that names the location (Secrets and claims live there). */
  namespace: string;
  /**
   * The directory where this process sees a PersistentVolumeClaim (mounted into it), or undefined
   * when it cannot reach that claim. Absent: volume locations cannot be opened here.
   */
  claimDir?: ClaimDirectory;
  signal?: AbortSignal;
}

export type ClaimDirectory = (namespace: string, claimName: string) => string | undefined;

/** The operator's layout: claims mounted at `<root>/<namespace>/<claimName>` (--backup-volume-root). */
export function claimsUnder(root: string): ClaimDirectory {
  return (namespace, claimName) => join(root, namespace, claimName);
}

export async function openStore(location: StorageLocation, context: StoreContext): Promise<SnapshotStore> {
  if (location.volume) {
    const { claimName, path = '/' } = location.volume;
    const description = `volume ${claimName}:${path}`;
    const dir = context.claimDir?.(context.namespace, claimName);
    if (dir === undefined) {
      throw new UsageError(
        `${description}: the claim is not mounted into the operator (see --backup-volume-root)`,
      );
    }
    return createVolumeStore({ root: join(dir, path), description });
  }
  if (location.s3) {
    const { bucket, prefix, region, endpoint, forcePathStyle, serverSideEncryption, credentialsSecret } =
      location.s3;
    let credentials: S3Credentials | undefined;
    if (credentialsSecret) {
      const { accessKeyId, secretAccessKey, sessionToken } = await readSecretData(
        context,
        credentialsSecret.name,
      );
      if (!accessKeyId || !secretAccessKey) {
        const missing = !accessKeyId ? 'accessKeyId' : 'secretAccessKey';
        throw new UsageError(`Secret ${context.namespace}/${credentialsSecret.name} has no key ${missing}`);
      }
      credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    }
    const { createS3Store } = await import('./s3-store.js');
    return createS3Store({
      bucket,
      ...(prefix !== undefined ? { prefix } : {}),
      ...(region !== undefined ? { region } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      forcePathStyle,
      ...(serverSideEncryption !== undefined ? { serverSideEncryption } : {}),
      ...(credentials ? { credentials } : {}),
    });
  }
  if (location.gcs) {
    const { bucket, prefix, endpoint, credentialsSecret } = location.gcs;
    let credentials: Record<string, unknown> | undefined;
    if (credentialsSecret) {
      const { name, key = 'credentials.json' } = credentialsSecret;
      const text = (await readSecretData(context, name))[key];
      const where = `Secret ${context.namespace}/${name} key ${key}`;
      if (text === undefined) throw new UsageError(`${where} is absent`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not the parser's message, nor as a cause: it quotes the text, which holds a private key.
        throw new UsageError(`${where} is not JSON (a service-account key file is expected)`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new UsageError(`${where} is not a JSON object (a service-account key file is expected)`);
      }
      credentials = parsed as Record<string, unknown>;
    }
    const { createGcsStore } = await import('./gcs-store.js');
    return createGcsStore({
      bucket,
      ...(prefix !== undefined ? { prefix } : {}),
      ...(endpoint !== undefined ? { apiEndpoint: endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    });
  }
  throw new UsageError('the storage location sets none of s3, gcs or volume');
}

/** The data of a Secret in the context's namespace, decoded; NotFoundError names the Secret. */
export async function readSecretData(context: StoreContext, name: string): Promise<Record<string, string>> {
  const secret = await context.kube.get(
    Secrets,
    { namespace: context.namespace, name },
    { signal: context.signal },
  );
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {}))
    data[key] = Buffer.from(value, 'base64').toString();
  for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = value;
  return data;
}
