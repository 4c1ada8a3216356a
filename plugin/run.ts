/**
 * Runs kubectl-etcd with the given arguments and returns the exit code. Every error is mapped to one
 * line on stderr and an exit code here, and nowhere else.
 */
import { buildCli } from './cli.js';
import { exitCodeFor, messageFor } from './exit-codes.js';

export async function run(argv: string[]): Promise<number> {
  try {
    await buildCli(argv).parseAsync();
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${messageFor(err)}\n`);
    return exitCodeFor(err);
  }
}
