/**
 * `etcd-operator await-peers`: the init container of a member that joins a running TLS cluster
 * (lib/cluster/resources.ts). It waits until one of the running members accepts the member's peer
 * certificate from the pod's address (lib/etcd/peer-acceptance.ts says why that can lag), so that the
 * member's etcd does not start only to exit with "discovery failed". Logs are JSON lines on stdout,
 * one per second of waiting. Exit codes: 0 accepted, 1 failed or interrupted, 3 usage error.
 */
import { readFile } from 'node:fs/promises';
import { awaitPeerAcceptance } from '../lib/etcd/peer-acceptance.js';
import { UsageError } from '../lib/errors.js';
import { parseAgentArgs } from './agent-args.js';
import { jsonLogger, reportFailure } from './logging.js';

export const AWAIT_PEERS = 'await-peers';

const USAGE = `$0 ${AWAIT_PEERS} --peers URL,… --cert FILE --key FILE --ca FILE

Waits until a running etcd member answers GET /members to this peer certificate. Run by the
operator as an init container of a member that joins a TLS cluster.`;

const ROUNDS_PER_LOG = 4;

export async function runAwaitPeers(argv: string[]): Promise<number> {
  let args;
  try {
    const required = (describe: string) => ({ type: 'string', demandOption: true, describe }) as const;
    args = await parseAgentArgs(argv, USAGE, {
      peers: required('The peer URLs of the running members, comma-separated'),
      cert: required("The member's peer certificate (PEM)"),
      key: required('Its private key (PEM)'),
      ca: required('The peer CA (PEM)'),
    });
  } catch (err) {
    return reportFailure(err);
  }
  if (!args) return 0;
  const peers = args.peers.split(',').filter(Boolean);
  if (peers.length === 0) return reportFailure(new UsageError('--peers names no peer'));
  const logger = jsonLogger(`etcd-operator ${AWAIT_PEERS}`);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const [cert, key, ca] = await Promise.all([args.cert, args.key, args.ca].map((f) => readFile(f)));
    const started = Date.now();
    const peer = await awaitPeerAcceptance({
      peers,
      cert: cert!,
      key: key!,
      ca: ca!,
      signal: stop.signal,
      onRefused: (round, reasons) => {
        if (round % ROUNDS_PER_LOG === 1)
          logger.info({ round, reasons }, 'no running member accepts this member yet');
      },
    });
    logger.info({ peer, waitedMs: Date.now() - started }, 'accepted');
    return 0;
  } catch (err) {
    return reportFailure(err);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
