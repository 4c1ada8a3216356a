/**
 * What a new TLS cluster's certificates cost the operator's first pass, and what the same four keys
 * would cost made otherwise: lib/tls makes a CA and three leaves with synchronous RSA-2048 key
 * generation, which blocks the operator's event loop for the whole of it.
 */
import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import type { EtcdCluster } from '../lib/api/index.js';
import { clusterNames } from '../lib/cluster/index.js';
import {
  issueClusterCertificates,
  planClusterCertificates,
  type CertificateAuthorityPlan,
  type LeafCertificatePlan,
} from '../lib/tls/index.js';

const generate = promisify(generateKeyPair);
/** A CA and the peer, server and client leaves. */
const KEYS = 4;

export interface CertificateCost {
  /** issueClusterCertificates for the CA and three leaves, as the operator calls it. */
  issueMs: number;
  /** Four RSA-2048 keys, one after another (what issuing cost before keys were made at once). */
  rsaSyncMs: number;
  /** Four RSA-2048 keys at once on libuv's thread pool, the event loop free meanwhile. */
  rsaParallelMs: number;
  /** Four ECDSA P-256 keys, synchronously. */
  ecdsaMs: number;
}

/** The certificates lib/tls plans for a cluster whose CA the operator makes: the CA and three leaves. */
export function certificatePlan(cluster: EtcdCluster): {
  ca: CertificateAuthorityPlan;
  leaves: LeafCertificatePlan[];
} {
  const names = clusterNames(cluster);
  const plan = planClusterCertificates(cluster, {
    name: names.cluster,
    namespace: names.namespace,
    peerServiceName: names.peerService,
    clientServiceName: names.clientService,
  });
  if (!plan?.ca)
    throw new Error(`EtcdCluster ${names.cluster} has no certificates for the operator to issue`);
  return { ca: plan.ca, leaves: plan.leaves };
}

export async function measureCertificateCost(cluster: EtcdCluster): Promise<CertificateCost> {
  const plan = certificatePlan(cluster);
  const issuing = performance.now();
  await issueClusterCertificates(plan.ca, plan.leaves);
  const issueMs = performance.now() - issuing;
  const rsaSyncMs = timed(() => {
    for (let i = 0; i < KEYS; i++) generateKeyPairSync('rsa', { modulusLength: 2048 });
  });
  const started = performance.now();
  await Promise.all(Array.from({ length: KEYS }, () => generate('rsa', { modulusLength: 2048 })));
  const rsaParallelMs = performance.now() - started;
  const ecdsaMs = timed(() => {
    for (let i = 0; i < KEYS; i++) generateKeyPairSync('ec', { namedCurve: 'P-256' });
  });
  return { issueMs, rsaSyncMs, rsaParallelMs, ecdsaMs };
}

function timed(fn: () => void): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}
