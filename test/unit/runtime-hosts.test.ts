import t from 'tap';
import type { V1Pod, V1PodStatus, V1Service } from '@kubernetes/client-node';
import { clusterRecords, hostsFile, podHostname } from '../../sandbox/runtime/hosts.js';

const ready: V1PodStatus = { conditions: [{ type: 'Ready', status: 'True' }] };
const pod = (
  name: string,
  ns: string,
  ip: string,
  extra: Partial<V1Pod['spec']> = {},
  status: V1PodStatus = ready,
): V1Pod => ({
  metadata: { name, namespace: ns, labels: { app: 'etcd' } },
  spec: { containers: [], ...extra },
  status: { ...status, podIP: ip },
});
const headless: V1Service = {
  metadata: { name: 'etcd', namespace: 'db' },
  spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'etcd' } },
};
const clusterIP: V1Service = {
  metadata: { name: 'client', namespace: 'db' },
  spec: { selector: { app: 'etcd' } },
};
const ipOf = (p: V1Pod) => p.status?.podIP;

t.test('headless Service: member names and the service name, from every namespace', async (t) => {
  const pods = [
    pod('etcd-0', 'db', '10.0.0.2', { hostname: 'etcd-0', subdomain: 'etcd' }, {}),
    pod('etcd-1', 'db', '10.0.0.3', { hostname: 'etcd-1', subdomain: 'etcd' }),
  ];
  const records = clusterRecords(pods, [headless], ipOf);
  const own = hostsFile(pods[0] as V1Pod, '10.0.0.2', records);
  t.match(own, /^10\.0\.0\.2\tetcd-0\.etcd\.db\.svc\.cluster\.local etcd-0$/m, 'its own FQDN and hostname');
  t.match(
    own,
    /^10\.0\.0\.3\tetcd-1\.etcd\.db\.svc\.cluster\.local etcd-1\.etcd\.db\.svc etcd-1\.etcd\.db etcd-1\.etcd$/m,
  );
  t.match(
    own,
    /^10\.0\.0\.2\tetcd\.db\.svc\.cluster\.local etcd\.db\.svc etcd\.db etcd$/m,
    'not-ready pods are published',
  );
  const other = hostsFile(pod('x', 'default', '10.0.0.9'), '10.0.0.9', records);
  t.match(
    other,
    /^10\.0\.0\.3\tetcd-1\.etcd\.db\.svc\.cluster\.local etcd-1\.etcd\.db\.svc etcd-1\.etcd\.db$/m,
    'no short name across namespaces',
  );
});

t.test('ClusterIP Service: resolves to ready, live endpoints only', async (t) => {
  const pods = [
    pod('a', 'db', '10.0.0.2'),
    pod('b', 'db', '10.0.0.3', {}, {}),
    {
      ...pod('c', 'db', '10.0.0.4'),
      metadata: { name: 'c', namespace: 'db', labels: { app: 'etcd' }, deletionTimestamp: new Date() },
    },
    pod('d', 'other', '10.0.0.5'),
  ];
  const records = clusterRecords(pods, [clusterIP], ipOf);
  t.same(records, [{ ip: '10.0.0.2', name: 'client', namespace: 'db' }]);
  t.same(
    clusterRecords(pods, [{ metadata: { name: 'x', namespace: 'db' }, spec: {} }], ipOf),
    [],
    'no selector, no records',
  );
});

t.test('pods without an address have no records', async (t) => {
  t.same(
    clusterRecords([pod('a', 'db', '')], [clusterIP], () => undefined),
    [],
  );
});

t.test('hostname: spec.hostname, else the name, cut to 63 characters', async (t) => {
  t.equal(podHostname(pod('n', 'd', '', { hostname: 'h' })), 'h');
  t.equal(podHostname(pod('n'.repeat(70), 'd', '')), 'n'.repeat(63));
});
