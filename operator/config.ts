/**
 * etcd-operator's settings: flags, each with an ETCD_OPERATOR_* environment variable (read from
 * process.env by yargs), parsed and checked into an OperatorConfig.
 */
import yargs from 'yargs';
import { parseDuration } from '../lib/api/duration.js';
import { UsageError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';

export const ENV_PREFIX = 'ETCD_OPERATOR';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface OperatorConfig {
  kubeconfig?: string;
  /** Empty: every namespace. */
  namespaces: string[];
  leaderElect: boolean;
  leaderElectionId: string;
  /** Undefined: the pod's own namespace in a cluster, else `default`. */
  leaderElectionNamespace?: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Undefined: disabled. */
  healthAddr?: Address;
  metricsAddr?: Address;
  logLevel: LogLevel;
  concurrency: number;
  syncPeriodMs: number;
  /** A member unhealthy this long is replaced while quorum holds. */
  replaceUnhealthyAfterMs: number;
  /** Where the operator sees PersistentVolumeClaims for volume backups: `<dir>/<namespace>/<claim>`. */
  backupVolumeRoot?: string;
  /** Tests only: crash the process at this point of a reconcile (see lib/cluster/execute.ts). */
  failpoint?: 'after-member-add';
}

export interface Address {
  host?: string;
  port: number;
}

/** `:8080`, `127.0.0.1:8080` or `[::1]:8080`; `0` turns the endpoint off. */
export function parseAddress(value: string, flag: string): Address | undefined {
  if (value === '0' || value === '') return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${flag} must be [host]:port or 0 to turn it off, not "${value}"`);
  }
  const host = match[1] ?? match[2];
  return { host: host || undefined, port };
}

function duration(value: string, flag: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`--${flag} must be a positive duration such as 15s, not "${value}"`);
  return ms;
}

const USAGE = `$0 [options]

Runs etcd clusters on Kubernetes: reconciles the etcd.io/v1alpha1 resources in the namespaces it
watches. Logs are JSON lines on stdout. SIGTERM finishes the reconciles in flight, hands back the
leader-election lease, and exits 0.

$0 restore-member --help: the restore agent the operator runs in the init containers of a cluster
created from a backup. $0 await-peers --help: the wait in the init container of a member that joins
a TLS cluster.`;

const EPILOGUE = `Every flag can also be set through the environment: ETCD_OPERATOR_ and the flag name in
upper case with _ for - (ETCD_OPERATOR_LEADER_ELECT=true, ETCD_OPERATOR_NAMESPACES=a,b). A flag on
the command line wins over the environment.

Kubernetes configuration, first found: --kubeconfig, $KUBECONFIG, the pod's service account (in a
cluster), ~/.kube/config.`;

/**
 * Parses argv and the ETCD_OPERATOR_* variables. Returns undefined when --help or --version printed
 * something and there is nothing to run; throws a UsageError for bad input.
 */
export async function parseConfig(
  argv: string[],
  print: (text: string) => void,
): Promise<OperatorConfig | undefined> {
  let printed = false;
  const parser = yargs(argv)
    .scriptName('etcd-operator')
    .usage(USAGE)
    .epilogue(EPILOGUE)
    .options({
      kubeconfig: { type: 'string', describe: 'Path to a kubeconfig file' },
      namespaces: {
        type: 'string',
        describe: 'Comma-separated namespaces to watch (repeatable); all namespaces when empty',
        default: '',
      },
      'leader-elect': {
        type: 'boolean',
        default: false,
        describe: 'Elect one active operator through a Lease; turn on when running more than one replica',
      },
      'leader-election-id': {
        type: 'string',
        default: 'etcd-operator.etcd.io',
        describe: 'Name of the Lease',
      },
      'leader-election-namespace': {
        type: 'string',
        describe: "Namespace of the Lease (default: the pod's namespace, else default)",
      },
      'lease-duration': {
        type: 'string',
        default: '15s',
        describe: 'How long standbys wait before taking over',
      },
      'renew-deadline': {
        type: 'string',
        default: '10s',
        describe: 'How long the leader tries to renew before stopping',
      },
      'retry-period': {
        type: 'string',
        default: '2s',
        describe: 'Between attempts to acquire or renew the Lease',
      },
      'health-addr': {
        type: 'string',
        default: ':8081',
        describe: 'Address of /healthz and /readyz; 0 turns it off',
      },
      'metrics-addr': { type: 'string', default: ':8080', describe: 'Address of /metrics; 0 turns it off' },
      'log-level': {
        choices: LOG_LEVELS,
        default: 'info',
        describe: 'Least severe level logged',
      },
      concurrency: { type: 'number', default: 1, describe: 'Resources of one kind reconciled at once' },
      'sync-period': {
        type: 'string',
        default: '10h',
        describe: 'How often every resource is reconciled anyway',
      },
      'replace-unhealthy-after': {
        type: 'string',
        default: '5m',
        describe: 'Replace an etcd member unhealthy this long, if quorum holds without it',
      },
      'backup-volume-root': {
        type: 'string',
        describe:
          'Directory under which volume backups reach their claims, as <dir>/<namespace>/<claimName> (claims mounted into the operator)',
      },
      failpoint: { choices: ['after-member-add'] as const, hidden: true },
    })
    .env(ENV_PREFIX)
    .strict()
    .version(VERSION)
    .help()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new UsageError(message);
    });
  const args = await parser.parseAsync(argv, {}, (_err, _argv, output) => {
    if (output) {
      printed = true;
      print(output);
    }
  });
  if (printed) return undefined;
  if (!Number.isInteger(args.concurrency) || args.concurrency < 1) {
    throw new UsageError(`--concurrency must be a whole number of at least 1, not ${args.concurrency}`);
  }
  const config: OperatorConfig = {
    kubeconfig: args.kubeconfig || undefined,
    namespaces: [
      ...new Set(
        [args.namespaces]
          .flat()
          .flatMap((n) => String(n).split(','))
          .map((n) => n.trim()),
      ),
    ].filter(Boolean),
    leaderElect: args['leader-elect'],
    leaderElectionId: args['leader-election-id'],
    leaderElectionNamespace: args['leader-election-namespace'] || undefined,
    leaseDurationMs: duration(args['lease-duration'], 'lease-duration'),
    renewDeadlineMs: duration(args['renew-deadline'], 'renew-deadline'),
    retryPeriodMs: duration(args['retry-period'], 'retry-period'),
    healthAddr: parseAddress(args['health-addr'], 'health-addr'),
    metricsAddr: parseAddress(args['metrics-addr'], 'metrics-addr'),
    logLevel: args['log-level'] as LogLevel,
    concurrency: args.concurrency,
    syncPeriodMs: duration(args['sync-period'], 'sync-period'),
    replaceUnhealthyAfterMs: duration(args['replace-unhealthy-after'], 'replace-unhealthy-after'),
    ...(args['backup-volume-root'] ? { backupVolumeRoot: args['backup-volume-root'] } : {}),
    ...(args.failpoint ? { failpoint: args.failpoint } : {}),
  };
  if (!(config.retryPeriodMs < config.renewDeadlineMs && config.renewDeadlineMs < config.leaseDurationMs)) {
    throw new UsageError('leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
  return config;
}
