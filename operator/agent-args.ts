/**
 * The command line of an agent subcommand (restore-member, await-peers): yargs, strict, with --help
 * and --version. Undefined when it printed one of them; a UsageError for anything it refuses.
 */
import yargs, { type Options } from 'yargs';
import { UsageError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';

export async function parseAgentArgs<O extends Record<string, Options>>(
  argv: string[],
  usage: string,
  options: O,
  print: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
) {
  let printed = false;
  const args = await yargs(argv)
    .scriptName('etcd-operator')
    .usage(usage)
    .options(options)
    .strict()
    .version(VERSION)
    .help()
    .exitProcess(false)
    .fail((message, err) => {
      throw err ?? new UsageError(message);
    })
    .parseAsync(argv, {}, (_err, _argv, output) => {
      if (output) {
        printed = true;
        print(output);
      }
    });
  return printed ? undefined : args;
}
