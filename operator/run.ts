/**
 * etcd-operator: wires the lib/kube runtime to the real world — kubeconfig, pino logs on stdout,
 * Prometheus metrics, probes, leader election and signals — and runs the registered controllers.
 * Exit codes: 0 after a graceful stop, 1 on a failure (lost lease included), 3 on a usage error.
 */
import type { Server } from 'node:http';
import type { Logger as PinoLogger } from 'pino';
import { hasCause, LeadershipLostError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { parseConfig, type OperatorConfig } from './config.js';
import { controllers as registered, type ControllerFactory } from './controllers.js';
import { boundPort, closeServers, metricsRoute, probe, serveEndpoints, type Endpoint } from './http.js';
import { resolveKubeConfig } from './kubeconfig.js';
import { jsonLogger, reportFailure } from './logging.js';
import { AWAIT_PEERS, runAwaitPeers } from './await-peers.js';
import { RESTORE_MEMBER, runRestoreMember } from './restore-member.js';
import { buildOperator, COMPONENT } from './operator.js';

export interface RunOptions {
  /** The controllers to run (the registry in controllers.ts). */
  controllers?: readonly ControllerFactory[];
}

export async function run(argv: string[], options: RunOptions = {}): Promise<number> {
  // The agents of the members' init containers: a restored member's data, a joining member's wait.
  if (argv[0] === RESTORE_MEMBER) return runRestoreMember(argv.slice(1));
  if (argv[0] === AWAIT_PEERS) return runAwaitPeers(argv.slice(1));
  let config: OperatorConfig | undefined;
  try {
    config = await parseConfig(argv, (text) => process.stdout.write(`${text}\n`));
  } catch (err) {
    return reportFailure(err);
  }
  if (!config) return 0;
  const logger = jsonLogger(COMPONENT, config.logLevel);
  try {
    return await operate(config, logger, options.controllers ?? registered);
  } catch (err) {
    logger.fatal({ err }, 'etcd-operator failed');
    // Also one line for whoever reads the terminal rather than the JSON log.
    return reportFailure(err);
  }
}

async function operate(
  config: OperatorConfig,
  logger: PinoLogger,
  factories: readonly ControllerFactory[],
): Promise<number> {
  const { kubeConfig, source, podNamespace } = resolveKubeConfig(config.kubeconfig, process.env);
  const { manager, client, registry, identity, close } = buildOperator(kubeConfig, config, logger, {
    factories,
    podNamespace,
  });
  logger.info(
    { version: VERSION, server: client.server, kubeconfig: source, namespaces: config.namespaces, identity },
    'starting',
  );

  const endpoints: Endpoint[] = [];
  if (config.healthAddr) {
    endpoints.push({
      address: config.healthAddr,
      routes: {
        '/healthz': probe(() => undefined),
        '/readyz': probe(() => (manager.ready() ? undefined : 'caches not synced')),
      },
    });
  }
  if (config.metricsAddr)
    endpoints.push({ address: config.metricsAddr, routes: { '/metrics': metricsRoute(registry) } });
  const servers: Server[] = await serveEndpoints(endpoints);
  logger.info({ ports: servers.map(boundPort) }, 'serving probes and metrics');

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    logger.info({ signal }, 'received a signal');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await manager.run(stop.signal);
    logger.info({}, 'stopped');
    return 0;
  } catch (err) {
    if (!hasCause(err, LeadershipLostError)) throw err;
    // controller-runtime's rule: a process that lost the lease exits at once; the caller exits with 1.
    logger.error({ err }, 'lost the leader-election lease: exiting');
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await closeServers(servers);
    close();
  }
}
