/**
 * The operator, in this process, against a sandbox: the same object graph bin/etcd-operator builds
 * (operator/operator.ts), with quick timings for tests. Stopped when the test ends.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../../lib/kube/index.js';
import { parseConfig } from '../../operator/config.js';
import { buildOperator, type BuildOptions, type Operator } from '../../operator/operator.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface RunningOperator extends Operator {
  /** Stops it as SIGTERM would: the reconciles in flight finish first. Idempotent. */
  stop: () => Promise<void>;
}

/** Starts the operator with bin/etcd-operator's flags (`args`) and no probe or metrics endpoints. */
export async function startOperator(
  t: Teardown,
  kubeConfig: KubeConfig,
  args: string[] = [],
  logger: Logger = silentLogger,
  build: BuildOptions = {},
): Promise<RunningOperator> {
  const config = await parseConfig(
    ['--health-addr=0', '--metrics-addr=0', '--concurrency=4', ...args],
    () => undefined,
  );
  if (!config) throw new Error('operator flags printed help instead of configuring');
  const operator = buildOperator(kubeConfig, config, logger, build);
  const stop = new AbortController();
  const running = operator.manager.run(stop.signal);
  let stopped: Promise<void> | undefined;
  const stopOperator = () =>
    (stopped ??= (async () => {
      stop.abort();
      await running;
      operator.close();
    })());
  t.teardown(stopOperator);
  return { ...operator, stop: stopOperator };
}
