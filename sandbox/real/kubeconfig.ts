/** A kubeconfig for one token user of an API server, with its CA embedded. Pure. */
import { stringify } from 'yaml';

export function kubeconfigYaml(server: string, caCert: string, user: string, token: string): string {
  const cluster = 'real-apiserver';
  const context = `${user}@${cluster}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: context, context: { cluster, user, namespace: 'default' } }],
    'current-context': context,
  });
}
