/**
 * Snapshot throughput: `kubectl etcd snapshot save` (port-forward through the API server, TLS,
 * digest check, fsync) against `etcdctl snapshot save` straight to the member's address, on the
 * same member of a cluster holding --mb megabytes. Goal: at least 0.8× etcdctl's throughput.
 *
 *   node --import tsx bench/plugin-snapshot.ts [--mb 64] [--runs 5]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findEtcd } from '../sandbox/binaries.js';
import { benchCluster } from './plugin-measure.js';
import { timeInTurns } from './plugin-measure.js';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '64' }, runs: { type: 'string', default: '5' } },
});
const bench = await benchCluster();
const dir = mkdtempSync(join(tmpdir(), 'bench-snapshot-'));
try {
  const client = await bench.demo.client('demo-1');
  const value = Buffer.alloc(1 << 20, 's');
  for (let i = 0; i < Number(values.mb); i++) await client.put(`bulk-${i}`).value(value);
  const tls = bench.demo.clientTls;
  for (const [name, pem] of [
    ['ca.crt', tls.caCert],
    ['client.crt', tls.cert],
    ['client.key', tls.key],
  ] as const) {
    writeFileSync(join(dir, name), pem, { mode: 0o600 });
  }
  const podIP = bench.sandbox.runtime.pod('default', 'demo-1')?.ip;
  if (!podIP) throw new Error('demo-1 has no address');
  const { env } = bench.kubectl;
  const timings = await timeInTurns(
    [
      {
        label: 'etcdctl snapshot save (straight to the member)',
        argv: [
          findEtcd('3.5').etcdctl,
          `--endpoints=https://${podIP}:2379`,
          `--cacert=${join(dir, 'ca.crt')}`,
          `--cert=${join(dir, 'client.crt')}`,
          `--key=${join(dir, 'client.key')}`,
          '--insecure-skip-tls-verify',
          'snapshot',
          'save',
          join(dir, 'etcdctl.db'),
        ],
      },
      {
        label: 'kubectl etcd snapshot save (port-forward)',
        argv: ['kubectl', 'etcd', 'snapshot', 'save', 'demo', join(dir, 'plugin.db'), '--member', 'demo-1'],
        options: { env },
      },
    ],
    Number(values.runs),
  );
  const bytes = statSync(join(dir, 'plugin.db')).size;
  console.log(`snapshot of ${(bytes / 2 ** 20).toFixed(1)} MiB, ${values.runs} runs each (higher is better)`);
  const base = timings[0]!;
  for (const t of timings) {
    const mibs = bytes / 2 ** 20 / (t.medianMs / 1000);
    const ratio =
      t === base ? 'baseline' : `${(base.medianMs / t.medianMs).toFixed(2)}× the baseline's throughput`;
    console.log(
      `${t.label.padEnd(48)}   ${mibs.toFixed(1).padStart(6)} MiB/s (median ${t.medianMs.toFixed(0)} ms)   ${ratio}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await bench.stop();
}
