/**
 * The PKI primitives: a self-signed CA, certificates it issues, and what a certificate says.
 * node-forge builds the X.509 structures; node:crypto makes the RSA keys and computes the
 * signatures (forge's pure-JS RSA takes seconds to make a key and ~60 ms to sign).
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  privateEncrypt,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { CertificateError } from '../errors.js';

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  cert: string;
  key: string;
}

export type CertificateUsage = 'server' | 'client';

export interface CertificateAuthorityOptions {
  commonName: string;
  validityMs: number;
  now?: Date;
  /** The certificate's RSA key, made beforehand (generatePrivateKeys); a new one when absent. */
  privateKey?: KeyObject;
}

export interface CertificateOptions {
  commonName: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  usages: readonly CertificateUsage[];
  validityMs: number;
  now?: Date;
  organization?: string;
  /** The certificate's RSA key, made beforehand (generatePrivateKeys); a new one when absent. */
  privateKey?: KeyObject;
}

/** What a certificate says, as read back from its PEM. */
export interface CertificateInfo {
  commonName: string;
  /** Lower case, as written; wildcards kept (`*.peers.ns.svc`). */
  dnsNames: string[];
  /** Canonical text form (`127.0.0.1`, `fd00::1`). */
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  /** What the extended key usage allows; both when the certificate does not restrict it. */
  usages: CertificateUsage[];
  /** Lower-case hex. */
  serialNumber: string;
  issuerCommonName: string;
}

/**
 * notBefore is set this far before `now` so that a member whose clock runs slightly behind the
 * operator's accepts a certificate issued a moment ago.
 */
const BACKDATE_MS = 5 * 60_000;
const EXTENDED_KEY_USAGE = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' } as const;
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
/** DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1): what PKCS#1 v1.5 signs. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** A new self-signed CA that may sign certificates (and nothing below them: pathLen 0). */
export function createCertificateAuthority(options: CertificateAuthorityOptions): KeyPair {
  const { publicKey, privateKey, keyPem } = newKeyPair(options.privateKey);
  const cert = newCertificate(publicKey, options.commonName, undefined, options);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  sign(cert, privateKey);
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

/**
 * A certificate signed by `ca` for the names and usages asked. Its notAfter never outlasts the
 * CA's: a leaf the CA can no longer vouch for is worth nothing.
 */
export function issueCertificate(ca: KeyPair, options: CertificateOptions): KeyPair {
  if (options.usages.length === 0) throw new CertificateError('a certificate needs a usage');
  const caCert = parseForgeCertificate(ca.cert, 'the CA certificate');
  const caKey = parsePrivateKey(ca.key, 'the CA key');
  const { publicKey, keyPem } = newKeyPair(options.privateKey);
  const cert = newCertificate(publicKey, options.commonName, options.organization, options);
  if (cert.validity.notAfter > caCert.validity.notAfter) {
    cert.validity.notAfter = caCert.validity.notAfter;
  }
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(options.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: 'extKeyUsage',
      serverAuth: options.usages.includes('server'),
      clientAuth: options.usages.includes('client'),
    },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  sign(cert, caKey);
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

/** Reads a PEM certificate of any key type (RSA, ECDSA, Ed25519: Provided issuers use them all). */
export function readCertificate(pem: string): CertificateInfo {
  const x509 = parseX509(pem, 'the certificate');
  const legacy = x509.toLegacyObject();
  const sans = parseSubjectAltName(x509.subjectAltName ?? '');
  return {
    commonName: firstValue(legacy.subject.CN),
    dnsNames: sans.filter((s) => s.type === 'DNS').map((s) => s.value.toLowerCase()),
    ipAddresses: sans.filter((s) => s.type === 'IP Address').map((s) => canonicalIP(s.value)),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    isCA: x509.ca,
    usages: extendedKeyUsages(x509),
    serialNumber: x509.serialNumber.toLowerCase(),
    issuerCommonName: firstValue(legacy.issuer.CN),
  };
}

/** True when `cert` carries a valid signature by `caCert` and names it as issuer. */
export function isIssuedBy(cert: string, caCert: string): boolean {
  const leaf = parseX509(cert, 'the certificate');
  const ca = parseX509(caCert, 'the CA certificate');
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

/** True when `key` is the private key of `cert`. */
export function keyMatchesCertificate(cert: string, key: string): boolean {
  return parseX509(cert, 'the certificate').checkPrivateKey(parsePrivateKey(key, 'the key'));
}

const RSA_KEY = { modulusLength: 2048 } as const;
const generateRsaKey = promisify(generateKeyPair);

/**
 * `count` RSA keys made at once on libuv's thread pool. A 2048-bit key takes ~0.3 s of CPU: made
 * one after another they block the event loop for seconds; made here, the loop stays free and the
 * cores share them.
 */
export async function generatePrivateKeys(count: number): Promise<KeyObject[]> {
  return Promise.all(
    Array.from({ length: count }, async () => (await generateRsaKey('rsa', RSA_KEY)).privateKey),
  );
}

function newKeyPair(given?: KeyObject): {
  publicKey: forge.pki.PublicKey;
  privateKey: KeyObject;
  keyPem: string;
} {
  if (given && given.asymmetricKeyType !== 'rsa') throw new CertificateError('certificate keys are RSA');
  const { publicKey, privateKey } = given
    ? { publicKey: createPublicKey(given), privateKey: given }
    : generateKeyPairSync('rsa', RSA_KEY);
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    privateKey,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function newCertificate(
  publicKey: forge.pki.PublicKey,
  commonName: string,
  organization: string | undefined,
  { validityMs, now = new Date() }: { validityMs: number; now?: Date },
): forge.pki.Certificate {
  if (!(validityMs > 0)) throw new CertificateError('certificate validity must be positive');
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + validityMs);
  cert.setSubject([
    ...(organization === undefined ? [] : [{ name: 'organizationName', value: organization }]),
    { name: 'commonName', value: commonName },
  ]);
  return cert;
}

/** 128 random bits, positive as DER INTEGERs must be (RFC 5280 §4.1.2.2). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** forge lays out the TBSCertificate; node:crypto makes the RSASSA-PKCS1-v1_5 signature. */
function sign(cert: forge.pki.Certificate, key: KeyObject): void {
  const signer = {
    sign(md: forge.md.MessageDigest): string {
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, digest]);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    },
  };
  cert.sign(signer as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}

function parseForgeCertificate(pem: string, what: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(pem);
  } catch {
    // forge's messages may quote the input; say what was wrong without it.
    throw new CertificateError(`${what} is not a PEM RSA certificate`);
  }
}

function parseX509(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CertificateError(`${what} is not a PEM certificate`, { cause: err });
  }
}

function parsePrivateKey(pem: string, what: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    // A key parser's error could one day echo its input: drop it rather than risk the key.
    throw new CertificateError(`${what} is not a PEM private key`);
  }
}

/** Node names the extended key usage OIDs `keyUsage`; undefined means unrestricted. */
function extendedKeyUsages(x509: X509Certificate): CertificateUsage[] {
  const oids = x509.keyUsage as string[] | undefined;
  if (oids === undefined || oids.includes(ANY_EXTENDED_KEY_USAGE)) return ['server', 'client'];
  return (['server', 'client'] as const).filter((u) => oids.includes(EXTENDED_KEY_USAGE[u]));
}

function firstValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/**
 * Node prints SANs as `DNS:a, IP Address:1.2.3.4`, JSON-quoting a value with special characters.
 */
function parseSubjectAltName(text: string): { type: string; value: string }[] {
  const entries: { type: string; value: string }[] = [];
  for (const m of text.matchAll(/([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const raw = m[2] ?? '';
    entries.push({ type: m[1] ?? '', value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return entries;
}

/** Node prints IPv6 SANs uncompressed (`FD00:0:0:0:0:0:0:1`); the URL parser canonicalises them. */
export function canonicalIP(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** A short, stable fingerprint (SHA-256 hex of the DER) to name a certificate in logs. */
export function certificateFingerprint(pem: string): string {
  return createHash('sha256').update(parseX509(pem, 'the certificate').raw).digest('hex');
}
