/**
 * How storage credentials reach the restore agent in a member's init container: as environment
 * variables that Kubernetes fills from the credentials Secret (`secretKeyRef`), so that they appear
 * in no argument, log, Event or status. The agent has no access to the API; it serves openStore()
 * the Secret back from those variables.
 */
import type { StorageLocation } from '../../generated/types.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { KubeReader, ObjectList } from '../kube/client.js';
import type { KubeObject, ResourceType } from '../kube/resources.js';

export interface CredentialVariable {
  /** The environment variable's name. */
  env: string;
  secret: string;
  key: string;
  /** The Secret may lack this key. */
  optional: boolean;
}

const PREFIX = 'ETCD_RESTORE_CREDENTIAL_';

/** `accessKeyId` → `ETCD_RESTORE_CREDENTIAL_ACCESS_KEY_ID`, `credentials.json` → `…_CREDENTIALS_JSON`. */
export function credentialVariableName(key: string): string {
  return (
    PREFIX +
    key
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9]/g, '_')
      .toUpperCase()
  );
}

/** The Secret keys the location's store reads (the keys stores.ts reads), one variable each. */
export function credentialVariables(location: StorageLocation): CredentialVariable[] {
  const variables = (secret: string, keys: [string, boolean][]) =>
    keys.map(([key, optional]) => ({ env: credentialVariableName(key), secret, key, optional }));
  if (location.s3?.credentialsSecret) {
    return variables(location.s3.credentialsSecret.name, [
      ['accessKeyId', false],
      ['secretAccessKey', false],
      ['sessionToken', true],
    ]);
  }
  if (location.gcs?.credentialsSecret) {
    const { name, key = 'credentials.json' } = location.gcs.credentialsSecret;
    return variables(name, [[key, false]]);
  }
  return [];
}

/**
 * A KubeReader that knows one thing: the location's credentials Secret, rebuilt from the variables
 * in `env`. Enough for openStore() in a process that cannot reach the API server.
 */
export function credentialsFromEnvironment(
  location: StorageLocation,
  namespace: string,
  env: Record<string, string | undefined>,
): KubeReader {
  const variables = credentialVariables(location);
  return {
    get<T extends KubeObject>(type: ResourceType<T>, key: { namespace?: string; name: string }): Promise<T> {
      const wanted = variables.filter((v) => v.secret === key.name);
      if (type.kind !== 'Secret' || wanted.length === 0) {
        return Promise.reject(
          new NotFoundError(`${type.kind} ${key.name} is not available to the restore agent`),
        );
      }
      const stringData: Record<string, string> = {};
      for (const v of wanted) {
        const value = env[v.env];
        if (value !== undefined) stringData[v.key] = value;
      }
      return Promise.resolve({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: key.name, namespace },
        stringData,
      } as unknown as T);
    },
    list<T extends KubeObject>(): Promise<ObjectList<T>> {
      return Promise.reject(new UsageError('the restore agent lists nothing'));
    },
  };
}
