/**
 * Runs kubectl-etcd with the given arguments and returns the exit code. Every error is mapped to one
 * line on stderr and an exit code here, and nowhere else.
 */
import { buildCli, COMMANDS } from './cli.js';
import { complete, type Lookup } from './completion.js';
import { exitCodeFor, messageFor } from './exit-codes.js';
import { withGlobalOptions } from './options.js';

/** cobra's hidden command, which kubectl's plugin completion and our completion scripts call. */
const COMPLETE = '__complete';

export async function run(argv: string[]): Promise<number> {
  try {
    if (argv[0] === COMPLETE) {
      const lookup: Lookup = async (...args) => (await import('./core.js')).completionLookup(...args);
      process.stdout.write(await complete(COMMANDS, withGlobalOptions, argv.slice(1), lookup));
      return 0;
    }
    await buildCli(argv).parseAsync();
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${messageFor(err)}\n`);
    return exitCodeFor(err);
  }
}
