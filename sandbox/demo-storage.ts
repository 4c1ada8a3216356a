/**
 * `npm run demo -- --with-storage`: a real S3 server (versitygw) and the GCS emulator
 * (fake-gcs-server), built into the cache by hack/storage-binaries.sh, on the address that both the
 * sandbox's pods and this machine reach; the S3 credentials as a Secret; and a manifest that restores
 * the demo cluster's backup into a new cluster. Returns the commands that try them.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Secrets, type KubeClient } from '../lib/kube/index.js';
import { s3CredentialsSecret, startGcsServer, startS3Server, type Teardown } from './storage-servers.js';

const BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../hack/storage-binaries.sh');
const BUCKET = 'backups';
const SECRET = 's3-credentials';

export interface DemoStorage {
  /** One command per line, to run in order from the repository (after `npm run build`). */
  commands: string[];
  /** The S3 and GCS endpoints, for the line that says they run. */
  endpoints: { s3: string; gcs: string };
}

/**
 * Builds the servers into the cache from the Go module proxy, or reuses them: minutes on the first
 * run, a second after. Its lines (one per server) go to stderr.
 */
export async function buildStorageServers(): Promise<void> {
  const child = spawn(BUILD_SCRIPT, [], { stdio: ['ignore', process.stderr, process.stderr] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0)
    throw new Error(`${BUILD_SCRIPT} exited ${code}; see its log under the cache's storage/logs`);
}

export async function startDemoStorage(options: {
  client: KubeClient;
  namespace: string;
  cluster: string;
  /** Where the servers listen: the sandbox runtime's host address. */
  host: string;
  /** The demo's directory: the restore manifest is written there. */
  dir: string;
  teardown: Teardown;
}): Promise<DemoStorage> {
  const { client, namespace, cluster, host, dir, teardown } = options;
  const [s3, gcs] = await Promise.all([
    startS3Server(teardown, { host, buckets: [BUCKET] }),
    startGcsServer(teardown, { host, buckets: [BUCKET] }),
  ]);
  await client.create(Secrets, s3CredentialsSecret(s3, namespace, SECRET));
  const restore = join(dir, 'restore.yaml');
  writeFileSync(
    restore,
    [
      'apiVersion: etcd.io/v1alpha1',
      'kind: EtcdCluster',
      'metadata:',
      `  name: ${cluster}-restored`,
      `  namespace: ${namespace}`,
      'spec:',
      '  size: 3',
      '  bootstrap:',
      '    restore:',
      `      backupName: ${cluster}-s3`,
      '',
    ].join('\n'),
  );
  const plugin = 'PATH=$PWD/bin:$PATH kubectl etcd';
  return {
    endpoints: { s3: s3.endpoint, gcs: gcs.endpoint },
    commands: [
      `${plugin} backup ${cluster} --name ${cluster}-s3 --to s3://${BUCKET}/${cluster} --endpoint ${s3.endpoint} --region ${s3.region} --force-path-style --credentials-secret ${SECRET}`,
      `${plugin} backup ${cluster} --name ${cluster}-gcs --to gs://${BUCKET}/${cluster} --endpoint ${gcs.endpoint}`,
      `${plugin} backup list ${cluster}`,
      `kubectl apply -f ${restore}`,
      `kubectl wait --for=jsonpath='{.status.phase}'=Running etcdcluster/${cluster}-restored --timeout=180s`,
      `${plugin} status ${cluster}-restored`,
    ],
  };
}
