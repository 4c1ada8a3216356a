/**
 * The cluster's DNS names as an /etc/hosts file per pod: there is no DNS server, so each pod's hosts
 * file (mounted over its /etc/hosts) holds every name a real cluster's DNS would answer. Pure.
 *
 * - A Service `s` in namespace `n`: `s.n.svc.<domain>`, `s.n.svc`, `s.n`, and `s` from pods in `n`.
 *   It resolves to the IPs of its endpoint pods: ready pods matching its selector (all matching pods
 *   with `publishNotReadyAddresses`). A ClusterIP Service resolves to them as well, since there is no
 *   kube-proxy to route its virtual IP.
 * - A pod with `spec.hostname` `h` and `spec.subdomain` `s`, endpoint of the headless Service `s`:
 *   `h.s.n.svc.<domain>`, `h.s.n.svc`, `h.s.n`, and `h.s` from pods in `n`.
 * - The pod itself: its FQDN (with a subdomain) and hostname, as the kubelet writes them.
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';

export interface DnsRecord {
  ip: string;
  /** The name without namespace: `s` or `h.s`. */
  name: string;
  namespace: string;
}

/** The DNS records of the cluster; `ipOf` gives a pod's IP (undefined while it has none). */
export function clusterRecords(
  pods: readonly V1Pod[],
  services: readonly V1Service[],
  ipOf: (pod: V1Pod) => string | undefined,
): DnsRecord[] {
  const records: DnsRecord[] = [];
  for (const svc of services) {
    const namespace = svc.metadata?.namespace ?? 'default';
    const name = svc.metadata?.name ?? '';
    const selector = svc.spec?.selector;
    if (!selector || Object.keys(selector).length === 0 || svc.spec?.type === 'ExternalName') continue;
    const headless = svc.spec?.clusterIP === 'None';
    for (const pod of pods) {
      const ip = ipOf(pod);
      if (ip === undefined || (pod.metadata?.namespace ?? 'default') !== namespace) continue;
      if (!matches(selector, pod.metadata?.labels)) continue;
      if (!svc.spec?.publishNotReadyAddresses && !isServing(pod)) continue;
      records.push({ ip, name, namespace });
      const { hostname, subdomain } = pod.spec ?? {};
      if (headless && hostname && subdomain === name)
        records.push({ ip, name: `${hostname}.${name}`, namespace });
    }
  }
  return records;
}

/** The hosts file of `pod` (whose IP is `podIP`) in a cluster with these records. */
export function hostsFile(
  pod: V1Pod,
  podIP: string,
  records: readonly DnsRecord[],
  domain = 'cluster.local',
): string {
  const namespace = pod.metadata?.namespace ?? 'default';
  const hostname = podHostname(pod);
  const subdomain = pod.spec?.subdomain;
  const own = subdomain ? [`${hostname}.${subdomain}.${namespace}.svc.${domain}`, hostname] : [hostname];
  const lines = [
    '# Kubernetes-managed hosts file (sandbox runtime): cluster DNS names below.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${podIP}\t${own.join(' ')}`,
  ];
  const seen = new Set<string>();
  for (const r of [...records].sort(byNameThenIP)) {
    const base = `${r.name}.${r.namespace}`;
    const names = [
      `${base}.svc.${domain}`,
      `${base}.svc`,
      base,
      ...(r.namespace === namespace ? [r.name] : []),
    ];
    const line = `${r.ip}\t${names.join(' ')}`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  return `${lines.join('\n')}\n`;
}

/** The pod's hostname: `spec.hostname`, else its name (at most 63 characters, as the kubelet cuts it). */
export function podHostname(pod: V1Pod): string {
  return (pod.spec?.hostname ?? pod.metadata?.name ?? 'pod').slice(0, 63).replace(/[-.]+$/, '');
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function isServing(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function byNameThenIP(a: DnsRecord, b: DnsRecord): number {
  const ka = `${a.namespace}/${a.name}/${a.ip}`;
  const kb = `${b.namespace}/${b.name}/${b.ip}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
