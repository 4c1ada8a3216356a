/**
 * Waits until a running cluster accepts a joining member's peer certificate. With
 * --peer-client-cert-auth, etcd checks that a peer's address matches its certificate's SANs; the
 * members' certificate names them by wildcard (`*.demo.default.svc`), so the check is a reverse
 * lookup of the new pod's IP. Until the cluster's DNS (the sandbox's hosts files, which Go's resolver
 * caches for 5 s; a real cluster's PTR records) knows the new pod, every member refuses it, and an
 * etcd started then exits with "discovery failed" and is restarted with a back-off. Run before the
 * member's etcd starts (etcd-operator await-peers, an init container), this waits instead.
 */
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError } from '../errors.js';

export interface PeerAcceptanceOptions {
  /** The peer URLs of the running members (https://…:2380). */
  peers: readonly string[];
  /** The joining member's peer certificate, key and CA (PEM). */
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  signal?: AbortSignal;
  /** Between rounds; 250 ms. */
  intervalMs?: number;
  /** Called after each round in which no member accepted. */
  onRefused?: (round: number, reasons: string[]) => void;
}

/** Resolves with the peer that first answered `GET /members` to this certificate. */
export async function awaitPeerAcceptance(options: PeerAcceptanceOptions): Promise<string> {
  for (let round = 1; ; round++) {
    if (options.signal?.aborted) throw new InterruptedError('waiting for the peers was interrupted');
    const answers = await Promise.all(options.peers.map((peer) => members(peer, options)));
    const accepted = options.peers.find((_, i) => answers[i] === undefined);
    if (accepted !== undefined) return accepted;
    options.onRefused?.(
      round,
      answers.map((reason, i) => `${options.peers[i]}: ${reason}`),
    );
    await sleep(options.intervalMs ?? 250, undefined, options.signal ? { signal: options.signal } : {}).catch(
      () => undefined,
    );
  }
}

/** undefined when `peer` answered /members with 200; otherwise why not. */
function members(peer: string, options: PeerAcceptanceOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(
      new URL('/members', peer),
      { cert: options.cert, key: options.key, ca: options.ca, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`);
      },
    );
    req.once('timeout', () => req.destroy(new Error('no answer within 2 s')));
    req.once('error', (err) => resolve(err.message));
    req.end();
  });
}
