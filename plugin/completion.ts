/**
 * Shell completion in cobra's protocol, which kubectl speaks to plugins: `kubectl etcd st<TAB>`
 * makes kubectl run `kubectl_complete-etcd st` and read one candidate per line (`value\tdescription`)
 * and a last line `:<directive>`. `kubectl-etcd __complete …` answers the same way for the scripts
 * of `kubectl etcd completion`.
 *
 * The command tree, positionals and flags are read from the command modules themselves, by running
 * each builder against a recorder instead of yargs; cluster, member, namespace and context names
 * come from the cluster and the kubeconfig.
 */
import type { GlobalArgs } from './options.js';

/** What completion reads of a yargs command module. */
export interface CommandLike {
  command?: string | readonly string[];
  describe?: unknown;
  builder?: unknown;
}

/** cobra's ShellCompDirective: 0 lets the shell complete file names, 4 does not. */
const FILES = 0;
const NO_FILES = 4;

interface OptionSpec {
  name: string;
  alias?: string;
  describe?: string;
  choices?: readonly string[];
  takesValue: boolean;
}

interface CommandSpec {
  name: string;
  describe: string;
  positionals: { name: string; choices?: readonly string[] }[];
  options: OptionSpec[];
  subcommands: CommandSpec[];
}

export type LookupKind =
  'cluster' | 'member' | 'backup' | 'namespace' | 'context' | 'kubeconfig-cluster' | 'user';

/** Names from the cluster or the kubeconfig; `cluster` is the CLUSTER typed so far, if any. */
export type Lookup = (kind: LookupKind, words: readonly string[], cluster?: string) => Promise<string[]>;

/** The lines `__complete` prints for `words` (the last one is the word being completed). */
export async function complete(
  commands: readonly CommandLike[],
  globals: CommandLike['builder'],
  words: readonly string[],
  lookup: Lookup,
): Promise<string> {
  const globalOptions = describeCommand({ command: '', describe: '', builder: globals }).options;
  const root: CommandSpec = {
    name: '',
    describe: '',
    positionals: [],
    options: [],
    subcommands: commands.map(describeCommand),
  };
  const current = words.at(-1) ?? '';
  let node = root;
  const typed: string[] = [];
  let pendingOption: OptionSpec | undefined;
  for (const word of words.slice(0, -1)) {
    if (pendingOption) {
      pendingOption = undefined;
      continue;
    }
    if (word.startsWith('-')) {
      const option = findOption([...globalOptions, ...node.options], word);
      if (option?.takesValue && !word.includes('=')) pendingOption = option;
      continue;
    }
    const sub = node.subcommands.find((c) => c.name === word);
    if (sub) node = sub;
    else typed.push(word);
  }
  const cluster = typed[node.positionals.findIndex((p) => p.name === 'CLUSTER')];
  const done = (candidates: string[], directive = NO_FILES) =>
    [...candidates.filter((c) => c.startsWith(current)), `:${directive}`].join('\n') + '\n';

  if (pendingOption) return done(await optionValues(pendingOption, words, lookup, cluster));
  if (current.startsWith('-')) {
    return done(
      [...globalOptions, ...node.options].map((o) => `--${o.name}${o.describe ? `\t${o.describe}` : ''}`),
    );
  }
  // A command may have subcommands and a positional of its own (`backup list`, `backup CLUSTER`).
  const commandLines = node.subcommands.map((c) => `${c.name}\t${c.describe}`);
  if (commandLines.length > 0 && node.positionals.length === 0) return done(commandLines);
  const subcommands = typed.length === 0 ? commandLines : [];
  const slot = node.positionals[typed.length];
  if (!slot) return done([]);
  if (slot.choices) return done([...slot.choices]);
  if (slot.name === 'FILE') return done([], FILES);
  if (slot.name === 'CLUSTER') return done([...subcommands, ...(await quietly(lookup('cluster', words)))]);
  if (slot.name === 'MEMBER') return done(await quietly(lookup('member', words, cluster)));
  return done([]);
}

async function optionValues(
  option: OptionSpec,
  words: readonly string[],
  lookup: Lookup,
  cluster: string | undefined,
): Promise<string[]> {
  if (option.choices) return [...option.choices];
  const kinds: Record<string, LookupKind> = {
    namespace: 'namespace',
    context: 'context',
    cluster: 'kubeconfig-cluster',
    user: 'user',
    member: 'member',
    like: 'backup',
  };
  const kind = kinds[option.name];
  return kind ? quietly(lookup(kind, words, cluster)) : [];
}

/** Completion never fails out loud: a lookup that cannot be made offers nothing. */
async function quietly(values: Promise<string[]>): Promise<string[]> {
  return values.catch(() => []);
}

function findOption(options: OptionSpec[], word: string): OptionSpec | undefined {
  const name = word.replace(/^--?/, '').split('=')[0];
  return options.find((o) => o.name === name || o.alias === name);
}

/** A command module as completion sees it: its builder run against a recorder. */
function describeCommand(mod: CommandLike): CommandSpec {
  const [name = '', ...rest] = String(mod.command ?? '').split(' ');
  const spec: CommandSpec = {
    name,
    describe: typeof mod.describe === 'string' ? mod.describe : '',
    positionals: rest.filter((w) => !w.startsWith('<')).map((w) => ({ name: w.replace(/[[\]]/g, '') })),
    options: [],
    subcommands: [],
  };
  const recorder: Record<string, unknown> = new Proxy(
    {},
    {
      get:
        (_target, method) =>
        (...args: unknown[]) => {
          const [key, opts = {}] = args as [string, Record<string, unknown>];
          if (method === 'option') {
            spec.options.push({
              name: key,
              ...(typeof opts.alias === 'string' ? { alias: opts.alias } : {}),
              ...(typeof opts.describe === 'string' ? { describe: opts.describe } : {}),
              ...(Array.isArray(opts.choices) ? { choices: opts.choices as string[] } : {}),
              takesValue: opts.type !== 'boolean',
            });
          } else if (method === 'positional' && Array.isArray(opts.choices)) {
            const slot = spec.positionals.find((p) => p.name === key);
            if (slot) slot.choices = opts.choices as string[];
          } else if (method === 'command') {
            spec.subcommands.push(describeCommand(args[0] as CommandLike));
          }
          return recorder;
        },
    },
  );
  if (typeof mod.builder === 'function') (mod.builder as (y: unknown) => unknown)(recorder);
  return spec;
}

/** Where a value of `--flag` is in `words`, kubectl's way (`-n x`, `--namespace=x`). */
export function flagValue(words: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    for (const name of names) {
      const flag = name.length === 1 ? `-${name}` : `--${name}`;
      if (word === flag) return words[i + 1];
      if (word.startsWith(`${flag}=`)) return word.slice(flag.length + 1);
    }
  }
  return undefined;
}

/** The global flags a lookup needs, read from the words typed so far. */
export function lookupArgs(
  words: readonly string[],
): Pick<GlobalArgs, 'kubeconfig' | 'context' | 'cluster' | 'user' | 'namespace'> {
  const pick = (...names: string[]) => flagValue(words.slice(0, -1), names);
  const values = {
    kubeconfig: pick('kubeconfig'),
    context: pick('context'),
    cluster: pick('cluster'),
    user: pick('user'),
    namespace: pick('namespace', 'n'),
  };
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

const SCRIPTS = {
  bash: `# bash completion for kubectl-etcd: source <(kubectl-etcd completion bash)
_kubectl_etcd() {
  local cur=\${COMP_WORDS[COMP_CWORD]} out directive
  out=$(kubectl-etcd __complete "\${COMP_WORDS[@]:1:$((COMP_CWORD - 1))}" "$cur" 2>/dev/null) || return
  directive=\${out##*:}
  out=$(printf '%s\\n' "$out" | sed '$d' | cut -f1)
  COMPREPLY=($(compgen -W "$out" -- "$cur"))
  if [[ \${#COMPREPLY[@]} -eq 0 && $directive -eq 0 ]]; then COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F _kubectl_etcd kubectl-etcd
`,
  zsh: `#compdef kubectl-etcd
# zsh completion for kubectl-etcd: source <(kubectl-etcd completion zsh)
_kubectl_etcd() {
  local -a lines candidates
  local directive
  lines=("\${(@f)$(kubectl-etcd __complete "\${words[@]:1:$((CURRENT - 2))}" "\${words[CURRENT]}" 2>/dev/null)}")
  directive=\${lines[-1]#:}
  candidates=("\${(@)lines[1,-2]}")
  candidates=("\${(@)candidates//:/\\\\:}")
  candidates=("\${(@)candidates/$'\\t'/:}")
  if (( \${#candidates} > 0 )); then _describe 'kubectl-etcd' candidates
  elif [[ $directive == 0 ]]; then _files
  fi
}
compdef _kubectl_etcd kubectl-etcd
`,
  fish: `# fish completion for kubectl-etcd: kubectl-etcd completion fish | source
function __kubectl_etcd_complete
  set -l words (commandline -opc)[2..-1] (commandline -ct)
  kubectl-etcd __complete $words 2>/dev/null | string match -v -r '^:'
end
complete -c kubectl-etcd -f -a '(__kubectl_etcd_complete)'
`,
} as const;

export function completionScript(shell: keyof typeof SCRIPTS): string {
  return SCRIPTS[shell];
}
