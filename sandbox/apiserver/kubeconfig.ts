/** A kubeconfig for one user of the sandbox API server: its CA embedded (over HTTPS) and its token. */
import { stringify } from 'yaml';

export function sandboxKubeconfig(server: string, caCert: string, user: string, token: string): string {
  const cluster = 'sandbox';
  const context = user === 'admin' ? 'sandbox' : `${user}@sandbox`;
  const clusterEntry: Record<string, string> = { server };
  if (caCert) clusterEntry['certificate-authority-data'] = Buffer.from(caCert).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: cluster, cluster: clusterEntry }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: context, context: { cluster, user, namespace: 'default' } }],
    'current-context': context,
  });
}
