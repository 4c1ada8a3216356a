/**
 * The operator, in this process, against a sandbox: the same object graph bin/etcd-operator builds
 * (operator/operator.ts), with quick timings for tests. Stopped when the test ends.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '../../lib/kube/index.js';
import { parseConfig } from '../../operator/config.js';
import { buildOperator, type Operator } from '../../operator/operator.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** Starts the operator with bin/etcd-operator's flags (`args`) and no probe or metrics endpoints. */
export async function startOperator(
  t: Teardown,
  kubeConfig: KubeConfig,
  args: string[] = [],
): Promise<Operator> {
  const config = await parseConfig(
    ['--health-addr=0', '--metrics-addr=0', '--concurrency=4', ...args],
    () => undefined,
  );
  if (!config) throw new Error('operator flags printed help instead of configuring');
  const operator = buildOperator(kubeConfig, config, silentLogger);
  const stop = new AbortController();
  const running = operator.manager.run(stop.signal);
  t.teardown(async () => {
    stop.abort();
    await running;
    operator.close();
  });
  return operator;
}
