import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CertificateError } from '../../lib/errors.js';
import {
  createCertificateAuthority,
  isIssuedBy,
  issueCertificate,
  keyMatchesCertificate,
  readCertificate,
} from '../../lib/tls/pki.js';

const DAY = 86_400_000;
const now = new Date('2030-01-01T00:00:00Z');
const ca = createCertificateAuthority({ commonName: 'demo-ca', validityMs: 3650 * DAY, now });
const server = issueCertificate(ca, {
  commonName: 'demo-server',
  dnsNames: ['*.demo-peers.ns.svc', 'localhost'],
  ipAddresses: ['127.0.0.1', '::1'],
  usages: ['server', 'client'],
  validityMs: 365 * DAY,
  now,
  organization: 'etcd',
});

t.test('a CA is self-signed, marked CA and valid for what was asked', async (t) => {
  const info = readCertificate(ca.cert);
  t.equal(info.commonName, 'demo-ca');
  t.equal(info.issuerCommonName, 'demo-ca');
  t.equal(info.isCA, true);
  t.equal(info.notAfter.getTime(), now.getTime() + 3650 * DAY);
  t.ok(info.notBefore < now, 'backdated for clock skew');
  t.match(info.serialNumber, /^[0-7][0-9a-f]{31}$/);
  t.ok(isIssuedBy(ca.cert, ca.cert));
});

t.test('an issued certificate names its SANs, usages and issuer', async (t) => {
  const info = readCertificate(server.cert);
  t.same(info.dnsNames, ['*.demo-peers.ns.svc', 'localhost']);
  t.same(info.ipAddresses, ['127.0.0.1', '::1']);
  t.equal(info.commonName, 'demo-server');
  t.equal(info.issuerCommonName, 'demo-ca');
  t.equal(info.isCA, false);
  t.equal(info.notAfter.getTime(), now.getTime() + 365 * DAY);
  t.not(info.serialNumber, readCertificate(ca.cert).serialNumber);

  const x509 = new X509Certificate(server.cert);
  t.equal(x509.checkHost('demo-2.demo-peers.ns.svc'), '*.demo-peers.ns.svc', 'wildcard matches');
  t.equal(x509.checkHost('demo-2.other.ns.svc'), undefined);
  t.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
  t.ok(x509.verify(new X509Certificate(ca.cert).publicKey), 'signed by the CA');
  t.match(x509.subject, /O=etcd/);
  t.match(x509.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  t.ok(isIssuedBy(server.cert, ca.cert));
  t.ok(keyMatchesCertificate(server.cert, server.key));
  t.notOk(keyMatchesCertificate(server.cert, ca.key));
});

t.test('openssl verifies the chain and the purposes', async (t) => {
  const dir = t.testdir();
  const client = issueCertificate(ca, {
    commonName: 'etcd-operator',
    usages: ['client'],
    validityMs: DAY,
    now,
  });
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'server.crt'), server.cert);
  writeFileSync(join(dir, 'client.crt'), client.cert);
  const verify = (purpose: string, file: string) =>
    execFileSync(
      'openssl',
      [
        'verify',
        '-attime',
        String(now.getTime() / 1000),
        '-CAfile',
        join(dir, 'ca.crt'),
        '-purpose',
        purpose,
        join(dir, file),
      ],
      {
        encoding: 'utf8',
      },
    );
  t.match(verify('sslserver', 'server.crt'), /: OK/);
  t.match(verify('sslclient', 'server.crt'), /: OK/);
  t.match(verify('sslclient', 'client.crt'), /: OK/);
  t.throws(() => verify('sslserver', 'client.crt'), 'a client-only certificate cannot serve');
});

t.test('a leaf never outlives its CA', async (t) => {
  const shortCA = createCertificateAuthority({ commonName: 'short', validityMs: 10 * DAY, now });
  const leaf = issueCertificate(shortCA, { commonName: 'x', usages: ['client'], validityMs: 365 * DAY, now });
  t.equal(readCertificate(leaf.cert).notAfter.getTime(), readCertificate(shortCA.cert).notAfter.getTime());
});

t.test('a certificate signed by another CA is not issued by this one', async (t) => {
  const other = createCertificateAuthority({ commonName: 'demo-ca', validityMs: DAY });
  t.notOk(isIssuedBy(server.cert, other.cert), 'same name, different key');
});

t.test('bad input is a CertificateError that never quotes the key', async (t) => {
  const broken = ca.key.replace(/[A-Za-z]{8}/, 'AAAAAAAA');
  for (const [what, fn] of [
    [
      'bad CA key',
      () =>
        issueCertificate(
          { cert: ca.cert, key: broken },
          { commonName: 'x', usages: ['client'], validityMs: DAY },
        ),
    ],
    [
      'bad CA cert',
      () =>
        issueCertificate(
          { cert: broken, key: ca.key },
          { commonName: 'x', usages: ['client'], validityMs: DAY },
        ),
    ],
    ['key as certificate', () => readCertificate(ca.key)],
    ['no usage', () => issueCertificate(ca, { commonName: 'x', usages: [], validityMs: DAY })],
    ['no validity', () => createCertificateAuthority({ commonName: 'x', validityMs: 0 })],
  ] as const) {
    const err = t.throws(fn, CertificateError, what) as Error;
    const text = `${err.message} ${String(err.cause)} ${(err.cause as Error | undefined)?.message ?? ''}`;
    t.notMatch(text, 'PRIVATE KEY', `${what}: no PEM in the error`);
    t.notMatch(text, ca.key.split('\n')[1]!, `${what}: no key line in the error`);
  }
});

t.test('readCertificate reads ECDSA certificates from other issuers', async (t) => {
  const dir = t.testdir();
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
      '-days',
      '1',
      '-subj',
      '/O=a,b/CN=cert-manager',
      '-addext',
      'subjectAltName=DNS:Etcd.Example,IP:fd00:0:0::1',
    ],
    { stdio: 'ignore' },
  );
  const info = readCertificate(readFileSync(join(dir, 'c.pem'), 'utf8'));
  t.equal(info.commonName, 'cert-manager');
  t.same(info.dnsNames, ['etcd.example']);
  t.same(info.ipAddresses, ['fd00::1']);
});
