/**
 * etcd-operator's command line. The controllers are wired in by the reconciler-runtime work; until
 * then the binary only describes itself and refuses to pretend to run.
 */
import yargs from 'yargs';
import { VERSION } from '../lib/version.js';

export async function run(argv: string[]): Promise<number> {
  let code = 0;
  await yargs(argv)
    .scriptName('etcd-operator')
    .usage(
      '$0 [options]\n\nRuns etcd clusters on Kubernetes: reconciles EtcdCluster and EtcdBackup resources.',
    )
    .version(VERSION)
    .help()
    .strict()
    .fail((message) => {
      process.stderr.write(`error: ${message}\n`);
      code = 3;
    })
    .command('$0', false, {}, () => {
      process.stderr.write('error: this build of etcd-operator has no controllers yet\n');
      code = 1;
    })
    .parseAsync();
  return code;
}
