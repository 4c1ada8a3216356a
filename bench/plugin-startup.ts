/**
 * Start-up of the plugin: `kubectl etcd --help` (and the bundle run directly) against `node -e 0`,
 * the floor of any Node CLI. Goal: within 1.6× of it. kubectl's own part is shown apart: `kubectl
 * floor` is a plugin that does nothing but start node, so `kubectl etcd --help` minus it is ours.
 *
 *   node --import tsx bench/plugin-startup.ts [--runs 30]
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPlugin } from '../test/helpers/plugin.js';
import { printTimings, timeInTurns } from './plugin-measure.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
const teardowns: (() => void | Promise<void>)[] = [];
const bin = await buildPlugin({ teardown: (fn) => void teardowns.push(fn) });
const home = mkdtempSync(join(tmpdir(), 'bench-home-'));
writeFileSync(join(bin, 'kubectl-floor'), '#!/usr/bin/env node\n');
chmodSync(join(bin, 'kubectl-floor'), 0o755);
try {
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: home,
    KUBECACHEDIR: join(home, 'cache'),
  };
  console.log(`start-up, ${values.runs} runs each (lower is better)`);
  printTimings(
    await timeInTurns(
      [
        { label: 'node -e 0', argv: [process.execPath, '-e', '0'] },
        { label: 'kubectl-etcd --help', argv: [join(bin, 'kubectl-etcd'), '--help'], options: { env } },
        { label: 'kubectl etcd --help', argv: ['kubectl', 'etcd', '--help'], options: { env } },
        { label: 'kubectl version --client', argv: ['kubectl', 'version', '--client'], options: { env } },
        { label: 'kubectl floor', argv: ['kubectl', 'floor'], options: { env } },
      ],
      Number(values.runs),
    ),
  );
} finally {
  for (const fn of teardowns) await fn();
  rmSync(home, { recursive: true, force: true });
}
