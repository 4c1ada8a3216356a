/**
 * npm run demo: a sandbox (API server + pod runtime running real etcd), the operator, and a
 * 3-member TLS EtcdCluster. Shows the cluster coming up, prints the kubeconfig to use with kubectl
 * and the cluster's status, and stays up until Ctrl-C, which stops everything and leaves nothing.
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

async function main(): Promise<void> {
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

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('\nstopping…');
    stopOperator.abort();
    await operating.catch(() => undefined);
    operator.close();
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
    say('stopped; nothing left behind.');
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));

  const client = new KubeClient(sandbox.kubeConfig);
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

Press Ctrl-C to stop.`);
  client.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
