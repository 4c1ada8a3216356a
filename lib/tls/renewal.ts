/**
 * Renewal planning (pure): given the stored Secrets and the time, which certificates must be
 * (re)issued and why. CA rotation is not done here, only reported: replacing the CA of a running
 * cluster needs every member to trust both CAs for a while, which is the lifecycle's business.
 */
import { CertificateError } from '../errors.js';
import type { ClusterCertificatePlan, LeafCertificatePlan, LeafRole } from './cluster-certificates.js';
import {
  canonicalIP,
  certificateFingerprint,
  isIssuedBy,
  keyMatchesCertificate,
  readCertificate,
  type CertificateInfo,
} from './pki.js';
import { readTlsSecret, type Secret, type TlsMaterial } from './secrets.js';

export type ReissueReason =
  'Missing' | 'Malformed' | 'KeyMismatch' | 'CAChanged' | 'NamesNotCovered' | 'WrongUsage' | 'Expiring';

/** A leaf to (re)issue — or, with issuer Provided, one the user must fix. */
export interface Reissue {
  role: LeafRole;
  secretName: string;
  reason: ReissueReason;
  /** One line for a condition or an Event; never key material. */
  message: string;
}

export type CAStatus = 'Missing' | 'Malformed' | 'Valid' | 'Expiring';

export interface CAAssessment {
  secretName: string;
  /** Missing: create one. Malformed or Expiring: rotation needed (not done by this library). */
  status: CAStatus;
  message: string;
  notAfter?: Date;
}

export interface RenewalPlan {
  /** With issuer Operator only. */
  ca?: CAAssessment;
  reissue: Reissue[];
  /** When the earliest certificate that is fine now comes due: requeue then. */
  nextRenewal?: Date;
}

interface ReadCA {
  material: TlsMaterial;
  info: CertificateInfo;
  fingerprint: string;
}

/** Assesses every certificate of `plan` against the Secrets found (by name) at `now`. */
export function planRenewal(
  plan: ClusterCertificatePlan,
  secrets: readonly Secret[],
  now: Date,
): RenewalPlan {
  const byName = new Map(secrets.map((s) => [s.metadata?.name, s]));
  const due: Date[] = [];
  let ca: ReadCA | undefined;
  let caAssessment: CAAssessment | undefined;
  if (plan.ca) {
    const assessed = assessCA(plan.ca.secretName, byName.get(plan.ca.secretName), plan.renewBeforeMs, now);
    caAssessment = assessed.assessment;
    ca = assessed.ca;
    if (ca && assessed.assessment.status === 'Valid') due.push(renewalTime(ca.info, plan.renewBeforeMs));
  }
  const reissue: Reissue[] = [];
  for (const leaf of plan.leaves) {
    const result = assessLeaf(leaf, byName.get(leaf.secretName), plan, ca, now);
    if ('reason' in result) reissue.push({ role: leaf.role, secretName: leaf.secretName, ...result });
    else if (result.due) due.push(result.due);
  }
  const nextRenewal = due.reduce<Date | undefined>((a, b) => (a === undefined || b < a ? b : a), undefined);
  return {
    ...(caAssessment ? { ca: caAssessment } : {}),
    reissue,
    ...(nextRenewal ? { nextRenewal } : {}),
  };
}

function assessCA(
  secretName: string,
  secret: Secret | undefined,
  renewBeforeMs: number,
  now: Date,
): { assessment: CAAssessment; ca?: ReadCA } {
  if (!secret)
    return { assessment: { secretName, status: 'Missing', message: `Secret ${secretName} not found` } };
  const read = readMaterial(secret);
  if (typeof read === 'string') return { assessment: { secretName, status: 'Malformed', message: read } };
  const { material, info } = read;
  const malformed = (message: string) => ({
    assessment: { secretName, status: 'Malformed' as const, message },
  });
  if (!info.isCA) return malformed(`Secret ${secretName}: tls.crt is not a CA certificate`);
  if (!keyMatchesCertificate(material.cert, material.key)) {
    return malformed(`Secret ${secretName}: tls.key does not belong to tls.crt`);
  }
  const ca = { material, info, fingerprint: certificateFingerprint(material.cert) };
  const expiring = now >= renewalTime(info, renewBeforeMs);
  return {
    assessment: {
      secretName,
      status: expiring ? 'Expiring' : 'Valid',
      message: expiring
        ? `the CA expires at ${info.notAfter.toISOString()}: rotate it`
        : `valid until ${info.notAfter.toISOString()}`,
      notAfter: info.notAfter,
    },
    ca,
  };
}

type LeafResult = { reason: ReissueReason; message: string } | { due?: Date };

function assessLeaf(
  leaf: LeafCertificatePlan,
  secret: Secret | undefined,
  plan: ClusterCertificatePlan,
  ca: ReadCA | undefined,
  now: Date,
): LeafResult {
  const name = leaf.secretName;
  if (!secret) return { reason: 'Missing', message: `Secret ${name} not found` };
  const read = readMaterial(secret);
  if (typeof read === 'string') return { reason: 'Malformed', message: read };
  const { material, info } = read;
  if (!keyMatchesCertificate(material.cert, material.key)) {
    return { reason: 'KeyMismatch', message: `Secret ${name}: tls.key does not belong to tls.crt` };
  }
  if (plan.issuer === 'Operator') {
    // Without a readable CA every leaf is suspect: the CA about to be made will not have signed it.
    if (!ca || !isIssuedBy(material.cert, ca.material.cert)) {
      return { reason: 'CAChanged', message: `Secret ${name}: tls.crt is not signed by the cluster CA` };
    }
    if (certificateFingerprint(material.caCert) !== ca.fingerprint) {
      return { reason: 'CAChanged', message: `Secret ${name}: ca.crt is not the cluster CA` };
    }
  } else if (!isIssuedBy(material.cert, material.caCert)) {
    return { reason: 'CAChanged', message: `Secret ${name}: tls.crt is not signed by its ca.crt` };
  }
  const missing = uncoveredNames(leaf, info);
  if (missing.length > 0) {
    return {
      reason: 'NamesNotCovered',
      message: `Secret ${name}: tls.crt does not cover ${missing.join(', ')}`,
    };
  }
  const lacking = leaf.usages.filter((u) => !info.usages.includes(u));
  if (lacking.length > 0) {
    return {
      reason: 'WrongUsage',
      message: `Secret ${name}: tls.crt is not valid for ${lacking.join(' and ')} use`,
    };
  }
  const due = renewalTime(info, plan.renewBeforeMs);
  // A leaf never outlives its CA: once the CA is what limits it, only a CA rotation helps.
  const renewable = !ca || ca.info.notAfter > info.notAfter;
  if (!renewable) return {};
  if (now >= due) {
    const verb = now >= info.notAfter ? 'expired' : 'expires';
    return {
      reason: 'Expiring',
      message: `Secret ${name}: tls.crt ${verb} at ${info.notAfter.toISOString()}`,
    };
  }
  return { due };
}

/** The Secret's material and certificate, or a one-line problem that quotes none of it. */
function readMaterial(secret: Secret): { material: TlsMaterial; info: CertificateInfo } | string {
  try {
    const material = readTlsSecret(secret);
    readCertificate(material.caCert); // throws when ca.crt is not a certificate
    return { material, info: readCertificate(material.cert) };
  } catch (err) {
    if (err instanceof CertificateError) {
      const name = secret.metadata?.name ?? '';
      return err.message.startsWith('Secret ') ? err.message : `Secret ${name}: ${err.message}`;
    }
    throw err;
  }
}

/** Required names the certificate lacks; a wildcard is only covered by the same wildcard. */
function uncoveredNames(leaf: LeafCertificatePlan, info: CertificateInfo): string[] {
  const dns = new Set(info.dnsNames);
  const ips = new Set(info.ipAddresses);
  return [
    ...leaf.dnsNames.filter((n) => !dns.has(n.toLowerCase())),
    ...leaf.ipAddresses.filter((ip) => !ips.has(canonicalIP(ip))),
  ];
}

function renewalTime(info: CertificateInfo, renewBeforeMs: number): Date {
  return new Date(info.notAfter.getTime() - renewBeforeMs);
}
