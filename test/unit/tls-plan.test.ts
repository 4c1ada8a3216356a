import t from 'tap';
import { parseEtcdCluster } from '../../lib/api/index.js';
import { ValidationError } from '../../lib/errors.js';
import { generateKeyPairSync } from 'node:crypto';
import {
  buildCaSecret,
  buildTlsSecret,
  createCertificateAuthority,
  isIssuedBy,
  issueClusterCertificates,
  issueLeaf,
  keyMatchesCertificate,
  memberDnsName,
  planClusterCertificates,
  readCertificate,
  readTlsSecret,
  type ClusterNaming,
} from '../../lib/tls/index.js';
import { CertificateError } from '../../lib/errors.js';

const naming: ClusterNaming = {
  name: 'demo',
  namespace: 'prod',
  peerServiceName: 'demo-peers',
  clientServiceName: 'demo-client',
};

function cluster(tls: Record<string, unknown> = {}) {
  return parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'demo', namespace: 'prod' },
    spec: { security: { tls } },
  }).object;
}

t.test('an Operator-issued cluster has a CA and three leaves with the right SANs', async (t) => {
  const plan = planClusterCertificates(cluster(), naming)!;
  t.equal(plan.issuer, 'Operator');
  t.same(plan.ca, { secretName: 'demo-ca', commonName: 'demo.prod etcd CA', validityMs: 87600 * 3600e3 });
  t.equal(plan.renewBeforeMs, 720 * 3600e3);
  const [peer, server, client] = plan.leaves;
  const cases: [string, unknown, unknown][] = [
    ['peer secret', peer?.secretName, 'demo-peer-tls'],
    ['peer DNS', peer?.dnsNames, ['*.demo-peers.prod.svc', '*.demo-peers.prod.svc.cluster.local']],
    ['peer IPs', peer?.ipAddresses, []],
    ['peer usages', peer?.usages, ['server', 'client']],
    ['server secret', server?.secretName, 'demo-server-tls'],
    [
      'server DNS',
      server?.dnsNames,
      [
        '*.demo-peers.prod.svc',
        '*.demo-peers.prod.svc.cluster.local',
        'demo-client',
        'demo-client.prod',
        'demo-client.prod.svc',
        'demo-client.prod.svc.cluster.local',
        'localhost',
      ],
    ],
    ['server IPs', server?.ipAddresses, ['127.0.0.1']],
    ['server usages', server?.usages, ['server']],
    ['client secret', client?.secretName, 'demo-client-tls'],
    ['client CN', client?.commonName, 'etcd-operator'],
    ['client DNS', client?.dnsNames, []],
    ['client usages', client?.usages, ['client']],
    ['validity', peer?.validityMs, 8760 * 3600e3],
  ];
  for (const [what, actual, expected] of cases) t.same(actual, expected, what);
});

t.test('the cluster domain and durations come from the caller and the spec', async (t) => {
  const plan = planClusterCertificates(
    cluster({ certificateValidity: '48h', caValidity: '96h', renewBefore: '90m' }),
    { ...naming, clusterDomain: 'corp.example' },
  )!;
  t.same(plan.leaves[0]?.dnsNames, ['*.demo-peers.prod.svc', '*.demo-peers.prod.svc.corp.example']);
  t.equal(plan.leaves[0]?.validityMs, 48 * 3600e3);
  t.equal(plan.ca?.validityMs, 96 * 3600e3);
  t.equal(plan.renewBeforeMs, 90 * 60e3);
});

t.test('a member name under the peer Service is covered by the wildcard', async (t) => {
  t.equal(memberDnsName(naming, 'demo-12'), 'demo-12.demo-peers.prod.svc');
});

t.test('TLS off means no certificates', async (t) => {
  t.equal(planClusterCertificates(cluster({ enabled: false }), naming), undefined);
});

t.test('issuer Provided uses the named Secrets and has no CA', async (t) => {
  const plan = planClusterCertificates(
    cluster({ issuer: 'Provided', secrets: { peer: 'p', server: 's', client: 'c' } }),
    naming,
  )!;
  t.equal(plan.ca, undefined);
  t.same(
    plan.leaves.map((l) => [l.role, l.secretName]),
    [
      ['peer', 'p'],
      ['server', 's'],
      ['client', 'c'],
    ],
  );
});

t.test('an unusable duration is a ValidationError naming the field', async (t) => {
  const c = cluster();
  c.spec.security.tls.renewBefore = 'soon';
  const err = t.throws(() => planClusterCertificates(c, naming), ValidationError) as ValidationError;
  t.equal(err.errors[0]?.field, 'spec.security.tls.renewBefore');
});

t.test('TLS Secrets round-trip in the kubernetes.io/tls shape', async (t) => {
  const material = { cert: CERT, key: KEY, caCert: CERT };
  const owner = { apiVersion: 'etcd.io/v1alpha1', kind: 'EtcdCluster', name: 'demo', uid: 'u1' };
  const secret = buildTlsSecret('demo-peer-tls', 'prod', material, {
    labels: { app: 'etcd' },
    ownerReferences: [owner],
  });
  t.equal(secret.type, 'kubernetes.io/tls');
  t.same(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  t.same(secret.metadata, {
    labels: { app: 'etcd' },
    ownerReferences: [owner],
    name: 'demo-peer-tls',
    namespace: 'prod',
  });
  t.equal(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString(), CERT);
  t.same(readTlsSecret(secret), material);
  const ca = buildCaSecret('demo-ca', 'prod', { cert: CERT, key: KEY });
  t.equal(ca.data?.['ca.crt'], ca.data?.['tls.crt']);
});

t.test('reading a broken TLS Secret names the key, never the content', async (t) => {
  const good = buildTlsSecret('x', 'prod', { cert: CERT, key: KEY, caCert: CERT });
  const cases: [string, Record<string, string>, RegExp][] = [
    ['no key', { 'tls.crt': good.data!['tls.crt']!, 'ca.crt': good.data!['ca.crt']! }, /has no tls\.key/],
    ['cert in key slot', { ...good.data!, 'tls.key': good.data!['tls.crt']! }, /tls\.key is not PEM/],
    ['key in cert slot', { ...good.data!, 'tls.crt': good.data!['tls.key']! }, /tls\.crt is not PEM/],
  ];
  for (const [what, data, message] of cases) {
    const err = t.throws(() => readTlsSecret({ ...good, data }), CertificateError, what) as Error;
    t.match(err.message, message, what);
    t.match(err.message, 'prod/x', `${what}: names the Secret`);
    t.notMatch(err.message, 'BEGIN', `${what}: no PEM`);
    t.notMatch(err.message, KEY_BODY, `${what}: no key body`);
  }
});

// Opaque PEM-shaped fixtures: these builders never parse the material.
const KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC';
const KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`;
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUX\n-----END CERTIFICATE-----\n';

t.test('a pass issues the CA and every leaf of the plan, each with a key of its own', async (t) => {
  const plan = planClusterCertificates(cluster(), naming)!;
  const issued = await issueClusterCertificates(plan.ca!, plan.leaves);
  t.equal(readCertificate(issued.ca.cert).commonName, 'demo.prod etcd CA');
  t.ok(readCertificate(issued.ca.cert).isCA);
  t.equal(issued.leaves.length, 3);
  for (const [i, leaf] of issued.leaves.entries()) {
    t.equal(readCertificate(leaf.cert).commonName, plan.leaves[i]!.commonName, 'in the order of the plan');
    t.ok(isIssuedBy(leaf.cert, issued.ca.cert), 'signed by the new CA');
    t.ok(keyMatchesCertificate(leaf.cert, leaf.key), 'its own key');
    t.equal(leaf.caCert, issued.ca.cert);
  }
  const keys = new Set([issued.ca.key, ...issued.leaves.map((l) => l.key)]);
  t.equal(keys.size, 4, 'no key is shared');
});

t.test('with an existing CA, only the leaves asked for are issued, by that CA', async (t) => {
  const ca = createCertificateAuthority({ commonName: 'kept', validityMs: 3600e3 });
  const [peer] = planClusterCertificates(cluster(), naming)!.leaves;
  const issued = await issueClusterCertificates(ca, [peer!]);
  t.equal(issued.ca, ca, 'the CA is the one given');
  t.equal(issued.leaves.length, 1);
  t.ok(isIssuedBy(issued.leaves[0]!.cert, ca.cert));
});

t.test('a key made beforehand must be RSA', async (t) => {
  const ca = createCertificateAuthority({ commonName: 'kept', validityMs: 3600e3 });
  const [peer] = planClusterCertificates(cluster(), naming)!.leaves;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  t.throws(() => issueLeaf(ca, peer!, undefined, privateKey), CertificateError);
});
