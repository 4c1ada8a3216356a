/**
 * Certificates in Secrets of type kubernetes.io/tls: `tls.crt`, `tls.key` and `ca.crt`, base64 in
 * `data`. Builders are pure; labels, annotations and ownerReferences come from the caller.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { ObjectMeta, Wire } from '../api/wire.js';
import { CertificateError } from '../errors.js';
import type { KeyPair } from './pki.js';

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';
export const TLS_CERT_KEY = 'tls.crt';
export const TLS_PRIVATE_KEY_KEY = 'tls.key';
export const CA_CERT_KEY = 'ca.crt';

const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----/;
/** PKCS#8, PKCS#1 (RSA) and SEC1 (EC) keys all end their PEM label with PRIVATE KEY. */
const PRIVATE_KEY_PEM = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/;

/** What a TLS Secret holds, as PEM. */
export interface TlsMaterial extends KeyPair {
  /** The CA that verifies the other side (and, for a CA Secret, the CA itself). */
  caCert: string;
}

/** A Secret as the API server sends it. */
export type Secret = Wire<V1Secret>;

/** Metadata the caller decides: labels, annotations, ownerReferences. */
export type SecretMetadata = Pick<ObjectMeta, 'labels' | 'annotations' | 'ownerReferences'>;

/** A kubernetes.io/tls Secret holding `material`. */
export function buildTlsSecret(
  name: string,
  namespace: string,
  material: TlsMaterial,
  metadata: SecretMetadata = {},
): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...metadata, name, namespace },
    type: TLS_SECRET_TYPE,
    data: {
      [TLS_CERT_KEY]: base64(material.cert),
      [TLS_PRIVATE_KEY_KEY]: base64(material.key),
      [CA_CERT_KEY]: base64(material.caCert),
    },
  };
}

/** The CA's own Secret: its certificate doubles as `ca.crt`. */
export function buildCaSecret(
  name: string,
  namespace: string,
  ca: KeyPair,
  metadata: SecretMetadata = {},
): Secret {
  return buildTlsSecret(name, namespace, { ...ca, caCert: ca.cert }, metadata);
}

/**
 * Reads the PEM material of a TLS Secret. Throws a CertificateError naming the Secret and the
 * missing key (never the content) when a key is absent or not PEM.
 */
export function readTlsSecret(secret: Secret): TlsMaterial {
  const name = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const field = (key: string, label: RegExp): string => {
    const value = secret.data?.[key];
    if (value === undefined || value === '') {
      throw new CertificateError(`Secret ${name} has no ${key}`);
    }
    const pem = Buffer.from(value, 'base64').toString('utf8');
    if (!label.test(pem)) {
      throw new CertificateError(`Secret ${name}: ${key} is not PEM`);
    }
    return pem;
  };
  return {
    cert: field(TLS_CERT_KEY, CERTIFICATE_PEM),
    key: field(TLS_PRIVATE_KEY_KEY, PRIVATE_KEY_PEM),
    caCert: field(CA_CERT_KEY, CERTIFICATE_PEM),
  };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
