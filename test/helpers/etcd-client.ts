/**
 * A client of an EtcdCluster from the test process, as an application would be one: every member
 * by pod IP, verified against the member's DNS name, with the operator's client certificate.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { Etcd3 } from 'etcd3';
import { clusterNames, memberHost } from '../../lib/cluster/naming.js';

export interface ClientOptions {
  /** Present the cluster's client certificate (default true). */
  withClientCertificate?: boolean;
  /** The cluster serves plain HTTP (security.tls.enabled: false). */
  plain?: boolean;
}

export async function etcdClient(
  kubeConfig: KubeConfig,
  namespace: string,
  cluster: string,
  options: ClientOptions = {},
): Promise<Etcd3> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const names = clusterNames({ metadata: { name: cluster, namespace } });
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `etcd.io/cluster=${cluster}` });
  const running = pods.items.filter((p) => p.status?.podIP && !p.metadata?.deletionTimestamp);
  if (options.plain)
    return new Etcd3({ hosts: running.map((p) => `http://${p.status?.podIP}:2379`), dialTimeout: 3_000 });
  const secret = await core.readNamespacedSecret({ namespace, name: names.clientSecret });
  const decode = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64');
  const first = running[0]?.metadata?.name ?? '';
  return new Etcd3({
    hosts: running.map((p) => `https://${p.status?.podIP}:2379`),
    credentials: {
      rootCertificate: decode('ca.crt'),
      ...(options.withClientCertificate === false
        ? {}
        : { privateKey: decode('tls.key'), certChain: decode('tls.crt') }),
    },
    // One name for every member: they all carry the peer-service wildcard.
    grpcOptions: { 'grpc.ssl_target_name_override': memberHost(names, first) },
    dialTimeout: 3_000,
  });
}
