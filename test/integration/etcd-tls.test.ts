/**
 * TLS with certificates from lib/tls, on real clusters of etcd 3.5 and 3.6: client-certificate auth,
 * the server-name override, and how etcd treats the peer certificate's wildcard SANs.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { ForbiddenError, UnavailableError } from '../../lib/errors.js';
import { createEtcdAdmin } from '../../lib/etcd/index.js';
import { startEtcdCluster, type TestCluster } from '../helpers/etcd-cluster.js';

for (const version of ['3.5', '3.6']) {
  t.test(`etcd ${version}`, async (t) => {
    const cluster = await startEtcdCluster(t, { version, size: 3, tls: true });
    const m0 = cluster.members.get('m0')!;
    const tls = cluster.tls!;
    const connect = (options: Parameters<typeof createEtcdAdmin>[0]) => {
      const admin = createEtcdAdmin({ timeoutMs: 3000, ...options });
      t.teardown(() => admin.close());
      return admin;
    };

    t.test('peers accept the wildcard peer certificate and clients the server certificate', async (t) => {
      const { members } = await cluster.admin().memberList();
      t.equal(members.length, 3);
      for (const m of members) t.match(m.peerURLs[0], /^https:\/\/m\d\.test-peers\.ns-\w+\.svc:\d+$/);
    });

    t.test('a client without the client certificate is refused', async (t) => {
      const anonymous = connect({
        endpoints: [{ url: m0.clientURL, serverName: m0.dnsName }],
        tls: { caCert: tls.ca.cert },
      });
      await t.rejects(anonymous.memberList(), ForbiddenError);
      const withCert = connect({
        endpoints: [{ url: m0.clientURL, serverName: m0.dnsName }],
        tls: { caCert: tls.ca.cert, cert: tls.client.cert, key: tls.client.key },
      });
      t.equal((await withCert.memberList()).members.length, 3);
    });

    t.test('the server-name override verifies a DNS-named certificate reached by IP', async (t) => {
      const material = { caCert: tls.ca.cert, cert: tls.client.cert, key: tls.client.key };
      // The server certificate names the members' DNS names, 127.0.0.1 and localhost — not 127.a.b.1.
      const byIP = connect({ endpoints: [m0.clientURL], tls: material });
      await t.rejects(byIP.memberList(), { name: 'UnavailableError', message: /does not name the address/ });
      const perEndpoint = connect({
        endpoints: [{ url: m0.clientURL, serverName: m0.dnsName }],
        tls: material,
      });
      t.equal((await perEndpoint.status(m0.clientURL)).version, cluster.binaries.version);
      const shared = connect({
        endpoints: [m0.clientURL],
        tls: { ...material, serverName: 'test-client.default.svc' },
      });
      await t.rejects(shared.memberList(), UnavailableError, 'a name the certificate lacks');
      const service = connect({
        endpoints: [m0.clientURL],
        tls: { ...material, serverName: `test-client.${cluster.naming.namespace}.svc` },
      });
      t.equal((await service.memberList()).members.length, 3, "the client Service's name");
    });
  });

  t.test(
    `etcd ${version}: wildcard peer SANs need the connecting address to resolve under them`,
    async (t) => {
      // etcd checks a peer's client certificate against the address it connects from: IP SANs
      // directly, DNS SANs by reverse lookup (a wildcard matches a PTR name under it) or by forward
      // lookup of non-wildcard names. Without a name for 127.0.0.1 the wildcard certificate is refused.
      const refused = await startEtcdCluster(t, {
        version,
        size: 2,
        tls: true,
        loopbackPeerName: null,
        wait: false,
      });
      const line = await waitForLog(refused, 'does not match any of DNSNames');
      t.match(line, /"\*\.test-peers\.ns-\w+\.svc"/);
      t.equal(await isHealthy(refused, 'm0'), false, 'no quorum: the peers refuse each other');

      const skipped = await startEtcdCluster(t, {
        version,
        size: 2,
        tls: true,
        loopbackPeerName: null,
        skipPeerSanVerification: true,
      });
      t.equal(
        (await skipped.admin().memberList()).members.length,
        2,
        'skipping the SAN check lets them form',
      );
    },
  );
}

async function waitForLog(cluster: TestCluster, text: string): Promise<string> {
  for (;;) {
    for (const m of cluster.members.values()) {
      const line = readFileSync(m.logFile, 'utf8')
        .split('\n')
        .find((l) => l.includes(text));
      if (line) return line;
    }
    await sleep(200);
  }
}

async function isHealthy(cluster: TestCluster, name: string): Promise<boolean> {
  const body = await fetch(`${cluster.members.get(name)!.metricsURL}/health`).then(
    (r) => r.text(),
    () => '',
  );
  return body.includes('"health":"true"');
}
