import type { Secret } from '../../lib/tls/secrets.js';
import t from 'tap';
import { parseEtcdCluster } from '../../lib/api/index.js';
import {
  buildCaSecret,
  buildTlsSecret,
  createCertificateAuthority,
  issueCertificate,
  issueClusterCA,
  issueLeaf,
  planClusterCertificates,
  planRenewal,
  type ClusterCertificatePlan,
  type KeyPair,
  type LeafCertificatePlan,
  type RenewalPlan,
} from '../../lib/tls/index.js';

const HOUR = 3600e3;
const DAY = 24 * HOUR;
const issuedAt = new Date('2030-01-01T00:00:00Z');
const naming = {
  name: 'demo',
  namespace: 'prod',
  peerServiceName: 'demo-peers',
  clientServiceName: 'demo-client',
};

function planFor(tls: Record<string, unknown>): ClusterCertificatePlan {
  const cluster = parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'demo', namespace: 'prod' },
    spec: { security: { tls } },
  }).object;
  return planClusterCertificates(cluster, naming)!;
}

// certificates valid 100 days, renewed 10 days before; the CA lasts 1000 days.
const plan = planFor({ certificateValidity: '2400h', caValidity: '24000h', renewBefore: '240h' });
const [peerPlan, serverPlan, clientPlan] = plan.leaves as [
  LeafCertificatePlan,
  LeafCertificatePlan,
  LeafCertificatePlan,
];
const ca = issueClusterCA(plan.ca!, issuedAt);
const leafSecret = (leaf: LeafCertificatePlan, signer: KeyPair = ca, at = issuedAt): Secret =>
  buildTlsSecret(leaf.secretName, 'prod', issueLeaf(signer, leaf, at));
const caSecret = buildCaSecret('demo-ca', 'prod', ca);
const healthy = [caSecret, ...plan.leaves.map((l) => leafSecret(l))];

/** `role reason` lines, to compare plans in one assertion. */
function summary(result: RenewalPlan): string[] {
  return result.reissue.map((r) => `${r.role} ${r.reason}`);
}

t.test('nothing stored: create the CA and issue every leaf', async (t) => {
  const result = planRenewal(plan, [], issuedAt);
  t.equal(result.ca?.status, 'Missing');
  t.same(summary(result), ['peer Missing', 'server Missing', 'client Missing']);
  t.equal(result.nextRenewal, undefined);
});

t.test('fresh certificates need nothing until renewBefore their expiry', async (t) => {
  const result = planRenewal(plan, healthy, new Date(issuedAt.getTime() + 50 * DAY));
  t.equal(result.ca?.status, 'Valid');
  t.same(summary(result), []);
  t.same(result.nextRenewal, new Date(issuedAt.getTime() + 90 * DAY));
});

t.test('the renewal window and expiry', async (t) => {
  const cases: [string, number, string[], RegExp | undefined][] = [
    ['a moment before the window', 90 * DAY - 1000, [], undefined],
    [
      'at the window',
      90 * DAY,
      ['peer Expiring', 'server Expiring', 'client Expiring'],
      /expires at 2030-04-11/,
    ],
    ['past expiry', 101 * DAY, ['peer Expiring', 'server Expiring', 'client Expiring'], /expired at/],
  ];
  for (const [what, offset, expected, message] of cases) {
    const result = planRenewal(plan, healthy, new Date(issuedAt.getTime() + offset));
    t.same(summary(result), expected, what);
    if (message) t.match(result.reissue[0]?.message, message, what);
  }
});

t.test('a leaf is checked against the cluster CA, its names, its key and its usages', async (t) => {
  const otherCA = createCertificateAuthority({
    commonName: 'demo.prod etcd CA',
    validityMs: 1000 * DAY,
    now: issuedAt,
  });
  const staleBundle = buildTlsSecret(serverPlan.secretName, 'prod', {
    ...issueLeaf(ca, serverPlan, issuedAt),
    caCert: otherCA.cert,
  });
  const wrongNames = leafSecret({ ...peerPlan, dnsNames: ['*.old-peers.prod.svc', '*.demo-peers.prod.svc'] });
  const otherKey = issueLeaf(ca, clientPlan, issuedAt);
  const keyMismatch = buildTlsSecret(clientPlan.secretName, 'prod', { ...otherKey, key: ca.key });
  const clientOnlyServer = leafSecret({ ...serverPlan, usages: ['client'] });
  const cases: [string, Secret, string, RegExp][] = [
    ['signed by another CA', leafSecret(peerPlan, otherCA), 'peer CAChanged', /not signed by the cluster CA/],
    ['stale ca.crt', staleBundle, 'server CAChanged', /ca\.crt is not the cluster CA/],
    [
      'names no longer cover',
      wrongNames,
      'peer NamesNotCovered',
      /does not cover \*\.demo-peers\.prod\.svc\.cluster\.local$/,
    ],
    ['key of another certificate', keyMismatch, 'client KeyMismatch', /tls\.key does not belong to tls\.crt/],
    ['client-only in the server slot', clientOnlyServer, 'server WrongUsage', /not valid for server use/],
  ];
  for (const [what, secret, expected, message] of cases) {
    const secrets = healthy.map((s) => (s.metadata?.name === secret.metadata?.name ? secret : s));
    const result = planRenewal(plan, secrets, issuedAt);
    t.same(summary(result), [expected], what);
    t.match(result.reissue[0]?.message, message, what);
    t.notMatch(result.reissue[0]?.message, 'BEGIN', `${what}: no PEM in the message`);
  }
});

t.test('a malformed Secret is reported without its content', async (t) => {
  const broken = buildTlsSecret(peerPlan.secretName, 'prod', {
    cert: '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n',
    key: ca.key,
    caCert: ca.cert,
  });
  const result = planRenewal(plan, [caSecret, broken, ...healthy.slice(2)], issuedAt);
  t.same(summary(result), ['peer Malformed']);
  t.match(result.reissue[0]?.message, /demo-peer-tls: the certificate is not a PEM certificate/);
  t.notMatch(result.reissue[0]?.message, ca.key.split('\n')[1]!, 'no key line');
});

t.test('a replaced or broken CA makes every leaf suspect and is reported', async (t) => {
  const replaced = planRenewal(
    plan,
    [
      buildCaSecret(
        'demo-ca',
        'prod',
        createCertificateAuthority({ commonName: 'x', validityMs: 1000 * DAY, now: issuedAt }),
      ),
      ...healthy.slice(1),
    ],
    issuedAt,
  );
  t.equal(replaced.ca?.status, 'Valid');
  t.same(summary(replaced), ['peer CAChanged', 'server CAChanged', 'client CAChanged']);

  const notACA = planRenewal(
    plan,
    [buildCaSecret('demo-ca', 'prod', issueLeaf(ca, clientPlan, issuedAt)), ...healthy.slice(1)],
    issuedAt,
  );
  t.equal(notACA.ca?.status, 'Malformed');
  t.match(notACA.ca?.message, /not a CA certificate/);
  t.same(summary(notACA), ['peer CAChanged', 'server CAChanged', 'client CAChanged']);

  const missing = planRenewal(plan, healthy.slice(1), issuedAt);
  t.equal(missing.ca?.status, 'Missing');
  t.same(summary(missing), ['peer CAChanged', 'server CAChanged', 'client CAChanged']);
});

t.test('an expiring CA is reported, and leaves it limits are not reissued in a loop', async (t) => {
  // The CA has 50 days left; a fresh leaf is cut to the CA's notAfter.
  const shortCA = createCertificateAuthority({
    commonName: 'demo.prod etcd CA',
    validityMs: 50 * DAY,
    now: issuedAt,
  });
  const secrets = [
    buildCaSecret('demo-ca', 'prod', shortCA),
    ...plan.leaves.map((l) => leafSecret(l, shortCA)),
  ];
  const early = planRenewal(plan, secrets, new Date(issuedAt.getTime() + 30 * DAY));
  t.equal(early.ca?.status, 'Valid');
  t.same(early.nextRenewal, new Date(issuedAt.getTime() + 40 * DAY), 'the CA comes due first');

  const late = planRenewal(plan, secrets, new Date(issuedAt.getTime() + 45 * DAY));
  t.equal(late.ca?.status, 'Expiring');
  t.match(late.ca?.message, /rotate it/);
  t.same(summary(late), [], 'reissuing would not extend them');
});

t.test('issuer Provided: each leaf is checked against its own ca.crt', async (t) => {
  const provided = planFor({ issuer: 'Provided', secrets: { peer: 'p', server: 's', client: 'c' } });
  const userCA = createCertificateAuthority({
    commonName: 'cert-manager CA',
    validityMs: 1000 * DAY,
    now: issuedAt,
  });
  const secrets = provided.leaves.map((l) => leafSecret(l, userCA));
  const fine = planRenewal(provided, secrets, issuedAt);
  t.equal(fine.ca, undefined);
  t.same(summary(fine), []);
  t.ok(fine.nextRenewal);

  const foreign = buildTlsSecret('s', 'prod', {
    ...issueCertificate(ca, {
      commonName: 'x',
      dnsNames: serverPlan.dnsNames,
      ipAddresses: ['127.0.0.1'],
      usages: ['server'],
      validityMs: DAY,
      now: issuedAt,
    }),
    caCert: userCA.cert,
  });
  const result = planRenewal(provided, [secrets[0]!, foreign, secrets[2]!], issuedAt);
  t.same(summary(result), ['server CAChanged']);
  t.match(result.reissue[0]?.message, /not signed by its ca\.crt/);
});
