/** The serving certificate: a throwaway CA and a certificate for the address the server listens on. */
import { isIP } from 'node:net';
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../lib/tls/pki.js';

const DAY = 24 * 60 * 60 * 1000;

export interface ServingCertificate {
  ca: string;
  cert: string;
  key: string;
}

export function servingCertificate(host: string, now: Date): ServingCertificate {
  const ca: KeyPair = createCertificateAuthority({
    commonName: 'sandbox-apiserver-ca',
    validityMs: 365 * DAY,
    now,
  });
  const ips = ['127.0.0.1', ...(isIP(host) && host !== '127.0.0.1' && host !== '0.0.0.0' ? [host] : [])];
  const dns = [
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    ...(isIP(host) ? [] : [host]),
  ];
  const leaf = issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: dns,
    ipAddresses: ips,
    usages: ['server'],
    validityMs: 365 * DAY,
    now,
  });
  return { ca: ca.cert, cert: leaf.cert, key: leaf.key };
}
