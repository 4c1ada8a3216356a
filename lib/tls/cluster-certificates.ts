/**
 * Which certificates an EtcdCluster needs and what each must say (pure: no keys, no I/O).
 * Member names are covered by wildcards under the peer Service, so scaling never needs a reissue.
 */
import type { EtcdCluster } from '../../generated/types.js';
import { parseDuration } from '../api/duration.js';
import { ValidationError } from '../errors.js';
import type { CertificateUsage } from './pki.js';

/** How a cluster's members and Services are named in DNS. */
export interface ClusterNaming {
  /** The EtcdCluster's name. */
  name: string;
  namespace: string;
  /** The headless Service that gives each member `<member>.<peerService>.<ns>.svc`. */
  peerServiceName: string;
  /** The Service that fronts the cluster for clients. */
  clientServiceName: string;
  /** Default `cluster.local`. */
  clusterDomain?: string;
}

export type LeafRole = 'peer' | 'server' | 'client';

/** One leaf certificate: the Secret it lives in and what it must say. */
export interface LeafCertificatePlan {
  role: LeafRole;
  secretName: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  usages: CertificateUsage[];
  validityMs: number;
}

export interface CertificateAuthorityPlan {
  secretName: string;
  commonName: string;
  validityMs: number;
}

export interface ClusterCertificatePlan {
  issuer: 'Operator' | 'Provided';
  /** The per-cluster CA; absent with issuer Provided (each Secret brings its own `ca.crt`). */
  ca?: CertificateAuthorityPlan;
  /** peer, server and client, in that order. */
  leaves: LeafCertificatePlan[];
  renewBeforeMs: number;
}

/** The CN of the operator's client certificate (etcd's RBAC, when enabled, sees this user). */
export const OPERATOR_CLIENT_CN = 'etcd-operator';
const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** The certificates of `cluster`, or undefined when TLS is off. */
export function planClusterCertificates(
  cluster: EtcdCluster,
  naming: ClusterNaming,
): ClusterCertificatePlan | undefined {
  const tls = cluster.spec.security.tls;
  if (!tls.enabled) return undefined;
  const validityMs = durationField(tls.certificateValidity, 'certificateValidity');
  const renewBeforeMs = durationField(tls.renewBefore, 'renewBefore');
  const provided = tls.issuer === 'Provided' ? tls.secrets : undefined;
  if (tls.issuer === 'Provided' && provided === undefined) {
    throw new ValidationError('EtcdCluster', [
      { field: 'spec.security.tls.secrets', reason: 'FieldValueRequired', message: 'Required value' },
    ]);
  }
  const secretName = (role: LeafRole): string => provided?.[role] ?? `${naming.name}-${role}-tls`;
  const members = memberDnsNames(naming);
  const leaves: LeafCertificatePlan[] = [
    {
      role: 'peer',
      secretName: secretName('peer'),
      commonName: `${naming.name}-peer`,
      dnsNames: members,
      ipAddresses: [],
      usages: ['server', 'client'],
      validityMs,
    },
    {
      role: 'server',
      secretName: secretName('server'),
      commonName: `${naming.name}-server`,
      dnsNames: [...members, ...serviceDnsNames(naming), 'localhost'],
      ipAddresses: ['127.0.0.1'],
      usages: ['server'],
      validityMs,
    },
    {
      role: 'client',
      secretName: secretName('client'),
      commonName: OPERATOR_CLIENT_CN,
      dnsNames: [],
      ipAddresses: [],
      usages: ['client'],
      validityMs,
    },
  ];
  return {
    issuer: tls.issuer,
    ...(provided
      ? {}
      : {
          ca: {
            secretName: `${naming.name}-ca`,
            commonName: `${naming.name}.${naming.namespace} etcd CA`,
            validityMs: durationField(tls.caValidity, 'caValidity'),
          },
        }),
    leaves,
    renewBeforeMs,
  };
}

/** Wildcards for every member under the peer Service, short and fully qualified. */
export function memberDnsNames(naming: ClusterNaming): string[] {
  const base = `${naming.peerServiceName}.${naming.namespace}.svc`;
  return [`*.${base}`, `*.${base}.${naming.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN}`];
}

/** The client Service as a pod in any namespace may spell it. */
export function serviceDnsNames(naming: ClusterNaming): string[] {
  const svc = naming.clientServiceName;
  const domain = naming.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  return [
    svc,
    `${svc}.${naming.namespace}`,
    `${svc}.${naming.namespace}.svc`,
    `${svc}.${naming.namespace}.svc.${domain}`,
  ];
}

/** The DNS name of one member under the peer Service, as peers and the operator dial it. */
export function memberDnsName(naming: ClusterNaming, member: string): string {
  return `${member}.${naming.peerServiceName}.${naming.namespace}.svc`;
}

function durationField(value: string, field: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    throw new ValidationError('EtcdCluster', [
      {
        field: `spec.security.tls.${field}`,
        reason: 'FieldValueInvalid',
        message: 'must be a positive duration',
      },
    ]);
  }
  return ms;
}
