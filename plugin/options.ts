/**
 * The flags every command takes, named and meaning what they mean to kubectl, and the checks on
 * them that need no cluster.
 */
import type { Argv } from 'yargs';
import { parseDuration } from '../lib/api/duration.js';
import { UsageError } from '../lib/errors.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export const TRANSPORTS = ['auto', 'port-forward', 'exec'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface GlobalArgs {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  allNamespaces?: boolean;
  requestTimeout?: string;
  output: OutputFormat;
  noHeaders?: boolean;
  transport: Transport;
}

const KUBECTL = 'Kubernetes (as kubectl takes them)';

export function withGlobalOptions(y: Argv): Argv<GlobalArgs> {
  return y
    .option('kubeconfig', { type: 'string', group: KUBECTL, describe: 'Path to the kubeconfig file' })
    .option('context', { type: 'string', group: KUBECTL, describe: 'The kubeconfig context to use' })
    .option('cluster', { type: 'string', group: KUBECTL, describe: 'The kubeconfig cluster to use' })
    .option('user', { type: 'string', group: KUBECTL, describe: 'The kubeconfig user to use' })
    .option('namespace', {
      alias: 'n',
      type: 'string',
      group: KUBECTL,
      describe: "The namespace (default: the context's, else default)",
    })
    .option('all-namespaces', { alias: 'A', type: 'boolean', group: KUBECTL, describe: 'Every namespace' })
    .option('request-timeout', {
      type: 'string',
      group: KUBECTL,
      describe: 'How long one request may take (1s, 2m; 0: no limit)',
    })
    .option('output', {
      alias: 'o',
      choices: OUTPUT_FORMATS,
      default: 'table',
      group: 'Output',
      describe: 'Output format',
    })
    .option('no-headers', { type: 'boolean', group: 'Output', describe: 'Tables without their header line' })
    .option('transport', {
      choices: TRANSPORTS,
      default: 'auto',
      group: 'etcd',
      describe: 'How to reach members: port-forward (EtcdClusters) or exec of etcdctl (other etcd)',
    }) as unknown as Argv<GlobalArgs>;
}

/** kubectl's --request-timeout: a duration with its unit, a bare number of seconds, 0 for none. */
export function parseRequestTimeout(text: string | undefined): number | undefined {
  if (text === undefined || text === '' || text === '0') return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === undefined) {
    throw new UsageError(`--request-timeout "${text}" is not a duration: give a number and unit (5s, 1m)`);
  }
  return ms;
}

/** A command that prints only some formats says so rather than printing something else. */
export function requireFormat<F extends OutputFormat>(format: OutputFormat, allowed: readonly F[]): F {
  if (!(allowed as readonly OutputFormat[]).includes(format)) {
    throw new UsageError(`this command prints -o ${allowed.join('|')}, not ${format}`);
  }
  return format as F;
}
