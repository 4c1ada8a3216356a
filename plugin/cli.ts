/** The yargs program of `kubectl etcd`: global flags and one module per command under commands/. */
import yargs, { type Argv } from 'yargs';
import { UsageError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { alarmCommand } from './commands/alarm.js';
import { backupCommand } from './commands/backup.js';
import { completionCommand } from './commands/completion.js';
import { defragCommand } from './commands/defrag.js';
import { healthCommand } from './commands/health.js';
import { memberCommand } from './commands/member.js';
import { moveLeaderCommand } from './commands/move-leader.js';
import { scaleCommand } from './commands/scale.js';
import { snapshotCommand } from './commands/snapshot.js';
import { statusCommand } from './commands/status.js';
import { versionCommand } from './commands/version.js';
import { withGlobalOptions } from './options.js';

export const COMMANDS = [
  statusCommand,
  healthCommand,
  memberCommand,
  scaleCommand,
  snapshotCommand,
  backupCommand,
  defragCommand,
  alarmCommand,
  moveLeaderCommand,
  versionCommand,
  completionCommand,
];

export function buildCli(argv: string[]): Argv {
  let cli = withGlobalOptions(
    yargs(argv)
      .scriptName('kubectl etcd')
      .usage('$0 <command> [options]\n\nOperate etcd clusters on Kubernetes from a workstation.')
      // kubectl's flags are --x=false, never --no-x: --no-headers is a flag of its own.
      .parserConfiguration({ 'boolean-negation': false }),
  ) as unknown as Argv;
  for (const command of COMMANDS) cli = cli.command(command as never);
  return cli
    .demandCommand(1, 'name a command; `kubectl etcd --help` lists them')
    .recommendCommands()
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((message, err) => {
      throw err ?? new UsageError(message);
    });
}
