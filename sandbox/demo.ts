/**
 * npm run demo: a sandbox (API server + pod runtime running real etcd), the operator, and a
 * 3-member TLS EtcdCluster. Shows the cluster coming up, prints the kubeconfig to use with kubectl
 * and the cluster's status, and stays up until Ctrl-C, which stops everything and leaves nothing.
 * With --with-storage, also an S3 server and the GCS emulator to back the cluster up to and
 * restore it from (sandbox/demo-storage.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { EtcdCluster } from '../lib/api/index.js';
import { EtcdClusters, KubeClient } from '../lib/kube/index.js';
import { parseConfig } from '../operator/config.js';
import { buildOperator } from '../operator/operator.js';
import { buildStorageServers, startDemoStorage, type DemoStorage } from './demo-storage.js';
import { startSandbox } from './sandbox.js';

const NAMESPACE = 'default';
const NAME = 'demo';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function statusTable(cluster: EtcdCluster): string {
  const rows = [['MEMBER', 'ID', 'LEADER', 'LEARNER', 'HEALTHY', 'VERSION', 'CLIENT URL']];
  for (const m of cluster.status?.members ?? []) {
    rows.push([
      m.name,
      m.id ?? '',
      String(m.isLeader ?? false),
      String(m.isLearner ?? false),
      String(m.healthy ?? false),
      m.version ?? '',
      m.clientURL ?? '',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

const USAGE = 'usage: npm run demo [-- --with-storage]';

async function main(argv: string[]): Promise<void> {
  const unknown = argv.find((a) => a !== '--with-storage');
  if (unknown !== undefined) throw new Error(`unknown argument ${JSON.stringify(unknown)}; ${USAGE}`);
  const withStorage = argv.includes('--with-storage');
  if (withStorage) {
    say('building or reusing versitygw and fake-gcs-server (the first time, a few minutes)…');
    await buildStorageServers();
  }
  const dir = mkdtempSync(join(tmpdir(), 'etcd-k8s-demo-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const logPath = join(dir, 'operator.log');
  say('starting the sandbox (API server and pod runtime)…');
  const sandbox = await startSandbox({ kubeconfigPath });
  const config = await parseConfig(
    ['--health-addr=0', '--metrics-addr=0', '--log-level=debug'],
    () => undefined,
  );
  if (!config) throw new Error('the operator configuration printed help');
  const operator = buildOperator(
    sandbox.kubeConfig,
    config,
    pino({ level: 'debug' }, pino.destination(logPath)),
  );
  const stopOperator = new AbortController();
  const operating = operator.manager.run(stopOperator.signal);

  /** What the storage servers stop with, last started first stopped. */
  const teardowns: (() => void | Promise<void>)[] = [];
  let stopping = false;
  /** Stops everything; `failed` keeps the directory, for the operator's log. */
  const stop = async (failed = false) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping…');
    stopOperator.abort();
    await operating.catch(() => undefined);
    operator.close();
    for (const teardown of teardowns.reverse()) await teardown();
    await sandbox.stop();
    if (failed) return say(`stopped; the operator's log stays in ${logPath}.`);
    rmSync(dir, { recursive: true, force: true });
    say('stopped; nothing left behind.');
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));

  // A failure from here on stops what was started, as Ctrl-C does, before it is reported.
  try {
    const client = new KubeClient(sandbox.kubeConfig);
    let storage: DemoStorage | undefined;
    if (withStorage) {
      say('starting storage: versitygw (S3) and fake-gcs-server (GCS), each with a bucket "backups"…');
      storage = await startDemoStorage({
        client,
        namespace: NAMESPACE,
        cluster: NAME,
        host: sandbox.runtime.hostIP,
        dir,
        teardown: { teardown: (fn) => void teardowns.push(fn) },
      });
      say(`  S3 at ${storage.endpoints.s3}, GCS at ${storage.endpoints.gcs}`);
    }
    say(`creating EtcdCluster ${NAMESPACE}/${NAME}: 3 members, etcd 3.5, TLS for peers and clients…`);
    const started = Date.now();
    await client.create(EtcdClusters, {
      apiVersion: 'etcd.io/v1alpha1',
      kind: 'EtcdCluster',
      metadata: { name: NAME, namespace: NAMESPACE },
      spec: { size: 3 },
    } as unknown as EtcdCluster);

    let last = '';
    let cluster: EtcdCluster;
    for (;;) {
      cluster = await client.get(EtcdClusters, { namespace: NAMESPACE, name: NAME });
      const progress = cluster.status?.conditions?.find((c) => c.type === 'Progressing')?.message ?? '';
      const line = `  ${cluster.status?.phase ?? 'Pending'}${progress ? `: ${progress}` : ''}`;
      if (line !== last) say(line);
      last = line;
      if (cluster.status?.phase === 'Running') break;
      if (Date.now() - started > 180_000)
        throw new Error(`the cluster is not Running after 3 minutes; see ${logPath}`);
      await sleep(100);
    }
    say(
      `\nEtcdCluster ${NAME} is Running (${((Date.now() - started) / 1000).toFixed(1)} s after it was created).\n`,
    );
    say(statusTable(cluster));
    say(`
kubeconfig: ${kubeconfigPath}
operator log: ${logPath}

Try, in another terminal:
  export KUBECONFIG=${kubeconfigPath}
  kubectl get etcdclusters -o wide
  kubectl scale etcdcluster/${NAME} --replicas=5
  kubectl get pods -w
  PATH=$PWD/bin:$PATH kubectl etcd status ${NAME}      # after npm run build
${
  storage
    ? `
Back it up to S3 and to GCS, list the backups, and restore the S3 one into a new cluster
(from this directory, after npm run build):
${storage.commands.map((c) => `  ${c}`).join('\n')}
`
    : ''
}
Press Ctrl-C to stop.`);
    client.close();
  } catch (err) {
    await stop(true);
    throw err;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
