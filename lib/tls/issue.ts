/** Issuing what a ClusterCertificatePlan asks for: fresh keys, so not pure, but no I/O. */
import type { CertificateAuthorityPlan, LeafCertificatePlan } from './cluster-certificates.js';
import type { KeyObject } from 'node:crypto';
import { createCertificateAuthority, generatePrivateKeys, issueCertificate, type KeyPair } from './pki.js';
import type { TlsMaterial } from './secrets.js';

export function issueClusterCA(plan: CertificateAuthorityPlan, now?: Date, privateKey?: KeyObject): KeyPair {
  return createCertificateAuthority({
    commonName: plan.commonName,
    validityMs: plan.validityMs,
    now,
    ...(privateKey ? { privateKey } : {}),
  });
}

/** A leaf signed by `ca`, with the CA's certificate as its `ca.crt`. */
export function issueLeaf(
  ca: KeyPair,
  leaf: LeafCertificatePlan,
  now?: Date,
  privateKey?: KeyObject,
): TlsMaterial {
  const pair = issueCertificate(ca, {
    commonName: leaf.commonName,
    dnsNames: leaf.dnsNames,
    ipAddresses: leaf.ipAddresses,
    usages: leaf.usages,
    validityMs: leaf.validityMs,
    now,
    ...(privateKey ? { privateKey } : {}),
  });
  return { ...pair, caCert: ca.cert };
}

/**
 * A new CA (when `ca` is a plan) or the given one, and the leaves: what the operator issues in one
 * pass. Every key comes from `privateKeys` at once (default: made now, off the event loop; the
 * operator passes a KeyPool's `take`).
 */
export async function issueClusterCertificates(
  ca: CertificateAuthorityPlan | KeyPair,
  leaves: readonly LeafCertificatePlan[],
  options: { now?: Date; privateKeys?: (count: number) => Promise<KeyObject[]> } = {},
): Promise<{ ca: KeyPair; leaves: TlsMaterial[] }> {
  const { now, privateKeys = generatePrivateKeys } = options;
  const newCA = !('cert' in ca);
  const keys = await privateKeys(leaves.length + (newCA ? 1 : 0));
  const authority = newCA ? issueClusterCA(ca, now, keys.pop()) : ca;
  return { ca: authority, leaves: leaves.map((leaf, i) => issueLeaf(authority, leaf, now, keys[i])) };
}
