/**
 * awaitPeerAcceptance (the await-peers init container) against a TLS server that, like an etcd whose
 * reverse lookup of the new pod fails, closes the connection of a correctly signed peer certificate
 * until it "knows" the caller: the wait reports each refused round, returns the peer that accepted,
 * presents the member's certificate, and stops when interrupted.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import { awaitPeerAcceptance } from '../../lib/etcd/peer-acceptance.js';
import { InterruptedError } from '../../lib/errors.js';
import { createCertificateAuthority, issueCertificate } from '../../lib/tls/pki.js';

const DAY = 86_400_000;
const ca = createCertificateAuthority({ commonName: 'test CA', validityMs: DAY });
const server = issueCertificate(ca, {
  commonName: 'peer',
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1'],
  usages: ['server', 'client'],
  validityMs: DAY,
});
const member = { cert: Buffer.from(server.cert), key: Buffer.from(server.key), ca: Buffer.from(ca.cert) };

/** A peer that closes the first `refusals` connections after the handshake, then answers /members. */
async function peer(refusals: number): Promise<{ url: string; clients: string[] }> {
  let refused = 0;
  const clients: string[] = [];
  const https: Server = createServer(
    { cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      clients.push(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
      if (refused++ < refusals) return req.socket.destroy();
      res.writeHead(req.url === '/members' ? 200 : 404).end('[]');
    },
  );
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => https.close(() => resolve())));
  return { url: `https://127.0.0.1:${(https.address() as AddressInfo).port}`, clients };
}

t.test('refused rounds are reported, then the peer that accepts is returned', async (t) => {
  const slow = await peer(3);
  const dead = 'https://127.0.0.1:1';
  const rounds: string[][] = [];
  const accepted = await awaitPeerAcceptance({
    peers: [dead, slow.url],
    ...member,
    intervalMs: 10,
    onRefused: (round, reasons) => rounds.push([String(round), ...reasons]),
  });
  t.equal(accepted, slow.url);
  t.equal(rounds.length, 3, 'one report per refused round');
  t.match(rounds[0], ['1', new RegExp(`^${dead}: `), new RegExp(`^${slow.url}: `)]);
  t.same(new Set(slow.clients), new Set(['peer']), 'the member’s own certificate was presented');
});

t.test('an interrupted wait throws InterruptedError', async (t) => {
  const never = await peer(Number.POSITIVE_INFINITY);
  const stop = new AbortController();
  const waiting = awaitPeerAcceptance({
    peers: [never.url],
    ...member,
    intervalMs: 10,
    signal: stop.signal,
    onRefused: (round) => round === 2 && stop.abort(),
  });
  await t.rejects(waiting, InterruptedError);
});
