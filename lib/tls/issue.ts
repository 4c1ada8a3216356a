/** Issuing what a ClusterCertificatePlan asks for: fresh keys, so not pure, but no I/O. */
import type { CertificateAuthorityPlan, LeafCertificatePlan } from './cluster-certificates.js';
import { createCertificateAuthority, issueCertificate, type KeyPair } from './pki.js';
import type { TlsMaterial } from './secrets.js';

export function issueClusterCA(plan: CertificateAuthorityPlan, now?: Date): KeyPair {
  return createCertificateAuthority({ commonName: plan.commonName, validityMs: plan.validityMs, now });
}

/** A leaf signed by `ca`, with the CA's certificate as its `ca.crt`. */
export function issueLeaf(ca: KeyPair, leaf: LeafCertificatePlan, now?: Date): TlsMaterial {
  const pair = issueCertificate(ca, {
    commonName: leaf.commonName,
    dnsNames: leaf.dnsNames,
    ipAddresses: leaf.ipAddresses,
    usages: leaf.usages,
    validityMs: leaf.validityMs,
    now,
  });
  return { ...pair, caCert: ca.cert };
}
