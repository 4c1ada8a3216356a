/**
 * `kubectl etcd version`: the plugin's version, the API server's, and the etcd versions of the
 * clusters in scope (as the EtcdClusters report them, or as static pods' images say).
 */
import type { CommandModule } from 'yargs';
import type { EtcdTarget } from '../../lib/access/index.js';
import { VERSION } from '../../lib/version.js';
import { withSession } from '../command.js';
import { requireFormat, type GlobalArgs } from '../options.js';
import { renderData } from '../output/print.js';
import { renderTable } from '../output/table.js';

type Args = GlobalArgs & { client?: boolean };

export interface ClusterVersions {
  namespace: string;
  name: string;
  /** What the spec asks for (EtcdClusters only). */
  version?: string;
  /** The lowest version a member runs. */
  currentVersion?: string;
  memberVersions: string[];
}

export const versionCommand: CommandModule<GlobalArgs, Args> = {
  command: 'version',
  describe: 'Print the versions of kubectl-etcd, the API server and the etcd clusters',
  builder: (y) => y.option('client', { type: 'boolean', describe: "Only kubectl-etcd's own version" }),
  handler: async (args) => {
    const format = requireFormat(args.output, ['table', 'wide', 'json', 'yaml']);
    const client = { version: VERSION };
    if (args.client) {
      if (format === 'json' || format === 'yaml')
        process.stdout.write(await renderData({ clientVersion: client }, format));
      else process.stdout.write(`Client Version: ${VERSION}\n`);
      return;
    }
    if (format === 'table' || format === 'wide') process.stdout.write(`Client Version: ${VERSION}\n`);
    await withSession(args, async (session) => {
      const { Transport } = await import('../core.js');
      const transport = new Transport(session.kubeConfig);
      try {
        const [server, targets] = await Promise.all([
          transport.json({ method: 'GET', path: '/version' }) as Promise<{ gitVersion?: string }>,
          session.targets(),
        ]);
        const clusters = targets.map(clusterVersions);
        if (format === 'json' || format === 'yaml') {
          process.stdout.write(
            await renderData({ clientVersion: client, serverVersion: server, clusters }, format),
          );
          return;
        }
        process.stdout.write(`Server Version: ${server.gitVersion ?? 'unknown'}\n`);
        if (clusters.length === 0) return;
        process.stdout.write(
          `\n${renderTable(
            clusters,
            [
              ...(session.allNamespaces
                ? [{ header: 'namespace', value: (c: ClusterVersions) => c.namespace }]
                : []),
              { header: 'cluster', value: (c) => c.name },
              { header: 'version', value: (c) => c.version },
              { header: 'current', value: (c) => c.currentVersion },
              { header: 'members', value: (c) => c.memberVersions.join(',') },
            ],
            { noHeaders: args.noHeaders ?? false },
          )}`,
        );
      } finally {
        transport.close();
      }
    });
  },
};

/** An EtcdCluster's versions from its status; a static pod's from its image tag (`3.5.15-0`). */
export function clusterVersions(target: EtcdTarget): ClusterVersions {
  const status = target.cluster?.status;
  const memberVersions = target.cluster
    ? (status?.members ?? []).flatMap((m) => (m.version ? [m.version] : []))
    : target.pods.flatMap((p) => {
        const tag = /:v?(\d+\.\d+\.\d+)/.exec(p.spec?.containers?.[0]?.image ?? '')?.[1];
        return tag ? [tag] : [];
      });
  const currentVersion = status?.currentVersion ?? lowest(memberVersions);
  return {
    namespace: target.namespace,
    name: target.name,
    ...(target.cluster?.spec?.version ? { version: target.cluster.spec.version } : {}),
    ...(currentVersion ? { currentVersion } : {}),
    memberVersions,
  };
}

function lowest(versions: string[]): string | undefined {
  return [...versions].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))[0];
}
