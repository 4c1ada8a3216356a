import t from 'tap';
import { parseEtcdCluster, type EtcdCluster } from '../../lib/api/index.js';
import { byOrdinal, clusterNames, memberFromPeerURL, memberOrdinal } from '../../lib/cluster/naming.js';
import {
  clientService,
  etcdArgs,
  memberClaim,
  memberPod,
  peerService,
  podDisruptionBudget,
} from '../../lib/cluster/resources.js';

function cluster(spec: Record<string, unknown> = {}): EtcdCluster {
  return parseEtcdCluster({
    apiVersion: 'etcd.io/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'demo', namespace: 'ns', uid: 'uid-1' },
    spec,
  }).object;
}
const names = clusterNames(cluster());
const start = { initialCluster: 'demo-0=https://demo-0.demo.ns.svc:2380', state: 'new' as const };
const flags = (c: EtcdCluster): Record<string, string | undefined> =>
  Object.fromEntries(
    etcdArgs(c, names, 'demo-0', start).map((a) => a.slice(2).split(/=(.*)/s) as [string, string]),
  );

t.test('member names sort and parse by number, not as text', async (t) => {
  t.same(['demo-10', 'demo-2', 'demo-1'].sort(byOrdinal('demo')), ['demo-1', 'demo-2', 'demo-10']);
  t.equal(memberOrdinal('demo', 'demo-12'), 12);
  t.equal(memberOrdinal('demo', 'demo-01'), undefined);
  t.equal(memberOrdinal('demo', 'demo-x-1'), undefined);
  t.equal(memberOrdinal('demo', 'other-1'), undefined);
  t.equal(memberFromPeerURL(names, 'https://demo-3.demo.ns.svc:2380'), 'demo-3');
  t.equal(memberFromPeerURL(names, 'https://demo-3.other.ns.svc:2380'), undefined);
});

t.test('etcd flags with TLS on (the default)', async (t) => {
  const f = flags(cluster());
  t.equal(f.name, 'demo-0');
  t.equal(f['listen-client-urls'], 'https://0.0.0.0:2379');
  t.equal(f['listen-peer-urls'], 'https://0.0.0.0:2380');
  t.equal(
    f['listen-metrics-urls'],
    'http://0.0.0.0:2381',
    'health and metrics without certificates, for probes',
  );
  t.equal(f['advertise-client-urls'], 'https://demo-0.demo.ns.svc:2379');
  t.equal(f['initial-advertise-peer-urls'], 'https://demo-0.demo.ns.svc:2380');
  t.equal(f['client-cert-auth'], 'true');
  t.equal(f['peer-client-cert-auth'], 'true');
  t.equal(f['cert-file'], '/etc/etcd/pki/server/tls.crt');
  t.equal(f['peer-trusted-ca-file'], '/etc/etcd/pki/peer/ca.crt');
  t.equal(f['initial-cluster-token'], 'uid-1', 'the cluster UID: two clusters of one name never merge');
  t.equal(f['auto-compaction-mode'], 'periodic');
  t.equal(f['auto-compaction-retention'], '1h');
  t.equal(f['snapshot-count'], '10000');
  t.equal(f.logger, undefined);
});

t.test('etcd flags with TLS off, typed options, extra args and etcd 3.4', async (t) => {
  const f = flags(
    cluster({
      version: '3.4.23',
      security: { tls: { enabled: false } },
      etcd: { quotaBackendBytes: '4Gi', maxRequestBytes: 2097152, extraArgs: { 'log-level': 'debug' } },
    }),
  );
  t.equal(f['listen-client-urls'], 'http://0.0.0.0:2379');
  t.equal(f['advertise-client-urls'], 'http://demo-0.demo.ns.svc:2379');
  t.equal(f['cert-file'], undefined);
  t.equal(f['client-cert-auth'], undefined);
  t.equal(f['quota-backend-bytes'], '4294967296');
  t.equal(f['max-request-bytes'], '2097152');
  t.equal(f['log-level'], 'debug');
  t.equal(f.logger, 'zap', '3.4 needs the structured logger asked for');
});

t.test(
  'a member joining a TLS cluster first waits for the members to accept its peer certificate',
  async (t) => {
    const join = {
      initialCluster: ['demo-0', 'demo-1', 'demo-3']
        .map((m) => `${m}=https://${m}.demo.ns.svc:2380`)
        .join(','),
      state: 'existing' as const,
    };
    const pod = memberPod(cluster(), names, 'demo-3', join, undefined, 'agent:1');
    t.same(pod.spec?.initContainers, [
      {
        name: 'await-peers',
        image: 'agent:1',
        command: ['/usr/local/bin/etcd-operator', 'await-peers'],
        args: [
          '--peers=https://demo-0.demo.ns.svc:2380,https://demo-1.demo.ns.svc:2380',
          '--cert=/etc/etcd/pki/peer/tls.crt',
          '--key=/etc/etcd/pki/peer/tls.key',
          '--ca=/etc/etcd/pki/peer/ca.crt',
        ],
        volumeMounts: [{ name: 'peer-tls', mountPath: '/etc/etcd/pki/peer', readOnly: true }],
      },
    ]);
    t.notOk(
      memberPod(cluster(), names, 'demo-0', start, undefined, 'agent:1').spec?.initContainers,
      'not a first member',
    );
    const plain = cluster({ security: { tls: { enabled: false } } });
    t.notOk(
      memberPod(plain, names, 'demo-3', join, undefined, 'agent:1').spec?.initContainers,
      'not without TLS',
    );
    t.notOk(memberPod(cluster(), names, 'demo-3', join).spec?.initContainers, 'not without the agent image');
  },
);

t.test('a member pod', async (t) => {
  const pod = memberPod(
    cluster({ pod: { labels: { team: 'db' }, priorityClassName: 'high' } }),
    names,
    'demo-0',
    start,
  );
  t.equal(pod.metadata?.name, 'demo-0');
  t.equal(pod.spec?.hostname, 'demo-0');
  t.equal(pod.spec?.subdomain, 'demo', 'DNS name demo-0.demo.ns.svc through the headless Service');
  t.equal(pod.spec?.containers[0]?.image, 'quay.io/coreos/etcd:v3.5.9');
  t.match(pod.metadata?.labels, { team: 'db', 'etcd.io/cluster': 'demo', 'etcd.io/member': 'demo-0' });
  t.match(pod.metadata?.ownerReferences, [
    { kind: 'EtcdCluster', name: 'demo', uid: 'uid-1', controller: true },
  ]);
  t.equal(pod.metadata?.annotations?.['etcd.io/initial-cluster'], start.initialCluster);
  t.same(
    pod.spec?.volumes?.map((v) => v.name),
    ['data', 'peer-tls', 'server-tls'],
  );
  t.match(pod.spec?.volumes?.[0], { persistentVolumeClaim: { claimName: 'data-demo-0' } });
  t.match(pod.spec?.containers[0]?.readinessProbe, { httpGet: { path: '/health', port: 2381 } });
  t.match(pod.spec?.containers[0]?.livenessProbe, {
    httpGet: { path: '/health?serializable=true&exclude=NOSPACE' },
  });
  t.equal(pod.spec?.priorityClassName, 'high');
  t.ok(pod.spec?.affinity?.podAntiAffinity, 'members spread across nodes by default');

  const plain = memberPod(
    cluster({
      storage: { type: 'EmptyDir', size: '1Gi' },
      security: { tls: { enabled: false } },
      version: '3.4.23',
    }),
    names,
    'demo-0',
    { ...start, state: 'existing' },
  );
  t.same(plain.spec?.volumes, [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }]);
  t.same(plain.metadata?.annotations, {}, 'only bootstrap members record the initial cluster');
  t.match(
    plain.spec?.containers[0]?.livenessProbe,
    { tcpSocket: { port: 2381 } },
    '3.4 has no serializable health check',
  );
});

t.test('services, claims and the disruption budget', async (t) => {
  const c = cluster({ size: 5, storage: { size: '20Gi', storageClassName: 'fast' } });
  const peer = peerService(c, names);
  t.equal(peer.spec?.clusterIP, 'None');
  t.equal(peer.spec?.publishNotReadyAddresses, true);
  t.same(peer.spec?.selector, { 'etcd.io/cluster': 'demo' });
  t.equal(clientService(c, names).metadata?.name, 'demo-client');
  t.same(podDisruptionBudget(c, names).spec?.minAvailable, 3, 'a quorum of 5 stays up');
  const claim = memberClaim(c, names, 'demo-4');
  t.equal(claim.metadata?.name, 'data-demo-4');
  t.same(claim.spec?.resources?.requests, { storage: '20Gi' });
  t.equal(claim.spec?.storageClassName, 'fast');
});
