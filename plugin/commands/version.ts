/** `kubectl etcd version`: the plugin's version. */
import type { CommandModule } from 'yargs';
import { VERSION } from '../../lib/version.js';

export const versionCommand: CommandModule = {
  command: 'version',
  describe: 'Print the version of kubectl-etcd',
  handler: () => {
    process.stdout.write(`kubectl-etcd ${VERSION}\n`);
  },
};
