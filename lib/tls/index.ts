/**
 * lib/tls: the PKI of an etcd cluster — a per-cluster CA and the peer, server and client
 * certificates it issues, the Secrets that hold them, and when they must be reissued.
 */
export {
  createCertificateAuthority,
  issueCertificate,
  generatePrivateKeys,
  readCertificate,
  isIssuedBy,
  keyMatchesCertificate,
  certificateFingerprint,
  type KeyPair,
  type CertificateUsage,
  type CertificateAuthorityOptions,
  type CertificateOptions,
  type CertificateInfo,
} from './pki.js';
export {
  planClusterCertificates,
  memberDnsNames,
  memberDnsName,
  serviceDnsNames,
  OPERATOR_CLIENT_CN,
  type ClusterNaming,
  type LeafRole,
  type LeafCertificatePlan,
  type CertificateAuthorityPlan,
  type ClusterCertificatePlan,
} from './cluster-certificates.js';
export {
  buildTlsSecret,
  buildCaSecret,
  readTlsSecret,
  TLS_SECRET_TYPE,
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
  CA_CERT_KEY,
  type TlsMaterial,
  type SecretMetadata,
} from './secrets.js';
export { issueClusterCA, issueLeaf, issueClusterCertificates } from './issue.js';
export { KeyPool } from './key-pool.js';
export {
  planRenewal,
  type RenewalPlan,
  type Reissue,
  type ReissueReason,
  type CAAssessment,
  type CAStatus,
} from './renewal.js';
