/**
 * `kubectl etcd status demo` against what it replaces, `kubectl exec demo-0 -- etcdctl endpoint
 * status --cluster -w table` with the member's certificate flags, on the same 3-member TLS cluster
 * of real etcd in the sandbox. Goal: faster.
 *
 *   node --import tsx bench/plugin-status.ts [--runs 20]
 */
import { parseArgs } from 'node:util';
import { benchCluster } from './plugin-measure.js';
import { printTimings, timeInTurns } from './plugin-measure.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const bench = await benchCluster();
try {
  const { env } = bench.kubectl;
  const pki = '/etc/etcd/pki';
  console.log(`status of a 3-member TLS cluster, ${values.runs} runs each (lower is better)`);
  printTimings(
    await timeInTurns(
      [
        {
          label: 'kubectl exec demo-0 -- etcdctl endpoint status --cluster -w table',
          argv: [
            'kubectl',
            'exec',
            'demo-0',
            '-c',
            'etcd',
            '--',
            'etcdctl',
            '--endpoints=https://127.0.0.1:2379',
            `--cacert=${pki}/server/ca.crt`,
            `--cert=${pki}/peer/tls.crt`,
            `--key=${pki}/peer/tls.key`,
            'endpoint',
            'status',
            '--cluster',
            '-w',
            'table',
          ],
          options: { env },
        },
        { label: 'kubectl etcd status demo', argv: ['kubectl', 'etcd', 'status', 'demo'], options: { env } },
      ],
      Number(values.runs),
    ),
  );
} finally {
  await bench.stop();
}
