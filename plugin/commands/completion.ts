/**
 * `kubectl etcd completion bash|zsh|fish`: a script that completes `kubectl-etcd` by asking it
 * (`kubectl-etcd __complete …`, cobra's protocol). `kubectl etcd <TAB>` itself is completed by
 * kubectl, which runs the `kubectl_complete-etcd` shim with the same protocol.
 */
import type { CommandModule } from 'yargs';
import { completionScript } from '../completion.js';
import type { GlobalArgs } from '../options.js';

type Args = GlobalArgs & { SHELL: 'bash' | 'zsh' | 'fish' };

export const completionCommand: CommandModule<GlobalArgs, Args> = {
  command: 'completion SHELL',
  describe: 'Print a shell completion script (source it, or install it where your shell looks)',
  builder: (y) =>
    y
      .positional('SHELL', { choices: ['bash', 'zsh', 'fish'] as const, demandOption: true })
      .example('source <($0 completion bash)', 'completion in this bash session'),
  handler: (args) => {
    process.stdout.write(completionScript(args.SHELL));
  },
};
