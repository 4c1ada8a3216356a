import t from 'tap';
import { clientPort, etcdctlTlsArgs, localClientURL, readEtcdFlags } from '../../lib/access/etcd-flags.js';
import type { Pod } from '../../lib/kube/resources.js';

const kubeadm: Pod = {
  metadata: { name: 'etcd-cp1', namespace: 'kube-system' },
  spec: {
    containers: [
      {
        name: 'etcd',
        image: 'registry.k8s.io/etcd:3.5.15-0',
        command: [
          'etcd',
          '--advertise-client-urls=https://10.0.0.5:2379',
          '--cert-file=/etc/kubernetes/pki/etcd/server.crt',
          '--client-cert-auth=true',
          '--key-file=/etc/kubernetes/pki/etcd/server.key',
          '--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.5:2379',
          '--name=cp1',
          '--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt',
          '--peer-key-file=/etc/kubernetes/pki/etcd/peer.key',
          '--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
        ],
      },
    ],
  },
};

t.test("kubeadm's static pod: name, URLs and certificate files from its command", async (t) => {
  const flags = readEtcdFlags(kubeadm)!;
  t.same(flags, {
    container: 'etcd',
    name: 'cp1',
    listenClientURLs: ['https://127.0.0.1:2379', 'https://10.0.0.5:2379'],
    advertiseClientURLs: ['https://10.0.0.5:2379'],
    trustedCAFile: '/etc/kubernetes/pki/etcd/ca.crt',
    certFile: '/etc/kubernetes/pki/etcd/server.crt',
    keyFile: '/etc/kubernetes/pki/etcd/server.key',
    peerCertFile: '/etc/kubernetes/pki/etcd/peer.crt',
    peerKeyFile: '/etc/kubernetes/pki/etcd/peer.key',
  });
  t.equal(localClientURL(flags), 'https://10.0.0.5:2379');
  t.same(clientPort(flags), { port: 2379, tls: true });
  t.same(etcdctlTlsArgs(flags, 'server'), [
    '--cacert=/etc/kubernetes/pki/etcd/ca.crt',
    '--cert=/etc/kubernetes/pki/etcd/server.crt',
    '--key=/etc/kubernetes/pki/etcd/server.key',
  ]);
  t.same(etcdctlTlsArgs(flags, 'peer').slice(1), [
    '--cert=/etc/kubernetes/pki/etcd/peer.crt',
    '--key=/etc/kubernetes/pki/etcd/peer.key',
  ]);
});

t.test('args, "--flag value", $(VAR) from env and field refs, and ETCD_* variables', async (t) => {
  const pod: Pod = {
    metadata: { name: 'm-1', namespace: 'ns' },
    status: { podIP: '10.1.2.3' },
    spec: {
      containers: [
        { name: 'sidecar', image: 'busybox' },
        {
          name: 'db',
          image: 'quay.io/coreos/etcd:v3.5.9',
          command: ['/usr/local/bin/etcd'],
          args: ['--name', '$(POD_NAME)', '--listen-client-urls=http://0.0.0.0:12379', '--data-dir=$$HOME'],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'ETCD_ADVERTISE_CLIENT_URLS', value: 'http://$(POD_NAME).svc:12379' },
          ],
        },
      ],
    },
  };
  const flags = readEtcdFlags(pod)!;
  t.equal(flags.container, 'db', 'the container whose command runs etcd');
  t.equal(flags.name, 'm-1');
  t.same(flags.advertiseClientURLs, ['http://m-1.svc:12379']);
  t.same(clientPort(flags), { port: 12379, tls: false });
  t.same(etcdctlTlsArgs(flags, 'server'), [], 'no TLS, no flags');
  t.equal(
    localClientURL({ ...flags, advertiseClientURLs: [] }),
    'http://127.0.0.1:12379',
    'a wildcard listener is dialled on loopback',
  );
  t.equal(
    localClientURL({ container: 'etcd', listenClientURLs: [], advertiseClientURLs: [] }),
    'http://127.0.0.1:2379',
  );
});

t.test('a pod without etcd has no flags', async (t) => {
  t.equal(
    readEtcdFlags({ metadata: { name: 'x' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } }),
    undefined,
  );
});
