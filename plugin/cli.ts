/** The yargs program of `kubectl etcd`: global flags and one module per command under commands/. */
import yargs, { type Argv } from 'yargs';
import { UsageError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { versionCommand } from './commands/version.js';

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('kubectl etcd')
    .usage('$0 <command> [options]\n\nOperate etcd clusters on Kubernetes from a workstation.')
    .command(versionCommand)
    .demandCommand(1, 'name a command; `kubectl etcd --help` lists them')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((message, err) => {
      throw err ?? new UsageError(message);
    });
}
