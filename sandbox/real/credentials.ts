/**
 * What kube-apiserver is started with besides etcd: a CA and a serving certificate signed by it
 * (lib/tls), a service-account signing key, and a static token file naming its users. Pure but for
 * the files written.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../lib/errors.js';
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../lib/tls/pki.js';

export interface UserSpec {
  /** Generated when absent. */
  token?: string;
  groups?: string[];
}

export interface User {
  name: string;
  token: string;
  groups: string[];
}

export const ADMIN = 'admin';
const DAY_MS = 24 * 60 * 60_000;

/** `admin` (in system:masters, always present) and the users asked for, each with a token. */
export function resolveUsers(users: Record<string, UserSpec> = {}): Map<string, User> {
  const out = new Map<string, User>();
  const add = (name: string, spec: UserSpec, groups: string[]) => {
    if (!/^[^,"\n]+$/.test(name))
      throw new UsageError(`user name ${JSON.stringify(name)} cannot go in a token file`);
    const token = spec.token ?? randomBytes(24).toString('hex');
    if (!/^[^,"\n]+$/.test(token))
      throw new UsageError(`the token of user ${name} has a comma, quote or newline`);
    out.set(name, { name, token, groups });
  };
  add(ADMIN, users[ADMIN] ?? {}, ['system:masters', ...(users[ADMIN]?.groups ?? [])]);
  for (const [name, spec] of Object.entries(users)) {
    if (name !== ADMIN) add(name, spec, spec.groups ?? []);
  }
  return out;
}

/** kube-apiserver's --token-auth-file: `token,user,uid,"group1,group2"` per line. */
export function tokenFile(users: Iterable<User>): string {
  return [...users].map((u) => `${u.token},${u.name},${u.name},"${u.groups.join(',')}"\n`).join('');
}

export interface ServerCredentials {
  ca: KeyPair;
  files: {
    tlsCert: string;
    tlsKey: string;
    caCert: string;
    serviceAccountKey: string;
    tokens: string;
  };
}

/**
 * Writes the credentials into `dir`: a one-day CA, a serving certificate for `host`, `localhost`
 * and the in-cluster names of the `kubernetes` Service, an RSA service-account key, the token file.
 */
export function writeServerCredentials(
  dir: string,
  host: string,
  serviceIP: string,
  users: Iterable<User>,
): ServerCredentials {
  const ca = createCertificateAuthority({
    commonName: 'etcd-k8s-operator real kube-apiserver CA',
    validityMs: DAY_MS,
  });
  const serving = issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ipAddresses: [...new Set([host, '127.0.0.1', serviceIP])],
    usages: ['server'],
    validityMs: DAY_MS,
  });
  const serviceAccountKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  const files = {
    tlsCert: join(dir, 'serving.crt'),
    tlsKey: join(dir, 'serving.key'),
    caCert: join(dir, 'ca.crt'),
    serviceAccountKey: join(dir, 'service-account.key'),
    tokens: join(dir, 'tokens.csv'),
  };
  writeFileSync(files.tlsCert, serving.cert);
  writeFileSync(files.tlsKey, serving.key, { mode: 0o600 });
  writeFileSync(files.caCert, ca.cert);
  writeFileSync(files.serviceAccountKey, serviceAccountKey, { mode: 0o600 });
  writeFileSync(files.tokens, tokenFile(users), { mode: 0o600 });
  return { ca, files };
}
