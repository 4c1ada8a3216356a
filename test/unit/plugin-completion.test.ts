import t from 'tap';
import { COMMANDS } from '../../plugin/cli.js';
import {
  complete,
  completionScript,
  flagValue,
  lookupArgs,
  type LookupKind,
} from '../../plugin/completion.js';
import { withGlobalOptions } from '../../plugin/options.js';

const asked: [LookupKind, string | undefined][] = [];
const lookup = async (kind: LookupKind, _words: readonly string[], cluster?: string) => {
  asked.push([kind, cluster]);
  if (kind === 'cluster') return ['demo', 'other'];
  if (kind === 'member') return ['demo-0', 'demo-1'];
  if (kind === 'namespace') return ['default', 'kube-system'];
  throw new Error('no kubeconfig');
};
const words = async (...typed: string[]) => {
  const out = await complete(COMMANDS, withGlobalOptions, typed, lookup);
  const lines = out.trimEnd().split('\n');
  return { values: lines.slice(0, -1).map((l) => l.split('\t')[0]), directive: lines.at(-1) };
};

t.test('commands and subcommands, filtered by what is typed, with descriptions', async (t) => {
  const top = await complete(COMMANDS, withGlobalOptions, [''], lookup);
  t.match(top, /^status\tShow the members of a cluster/);
  t.same((await words('s')).values, ['status', 'scale', 'snapshot']);
  t.same(await words('member', ''), { values: ['list', 'add', 'remove', 'promote'], directive: ':4' });
  t.same((await words('snapshot', 's')).values, ['save', 'status']);
});

t.test('flags: global and the command own; values from choices', async (t) => {
  const flags = (await words('defrag', 'demo', '--')).values;
  t.ok(flags.includes('--namespace') && flags.includes('--member') && flags.includes('--health-timeout'));
  t.same((await words('status', '-o', '')).values, ['table', 'wide', 'json', 'yaml', 'name']);
  t.same((await words('status', '--transport=port-forward', 'demo', '--transport', 'e')).values, ['exec']);
  t.same((await words('completion', '')).values, ['bash', 'zsh', 'fish']);
});

t.test('clusters, members and namespaces come from the lookup, with the CLUSTER typed', async (t) => {
  asked.length = 0;
  t.same((await words('status', '')).values, ['demo', 'other']);
  t.same((await words('-n', 'x', 'move-leader', 'demo', 'demo-')).values, ['demo-0', 'demo-1']);
  t.same((await words('defrag', 'demo', '--member', '')).values, ['demo-0', 'demo-1']);
  t.same((await words('status', '-n', 'k')).values, ['kube-system']);
  t.same(asked, [
    ['cluster', undefined],
    ['member', 'demo'],
    ['member', 'demo'],
    ['namespace', undefined],
  ]);
});

t.test('files are left to the shell; failed lookups and extra words offer nothing', async (t) => {
  t.same(await words('snapshot', 'save', 'demo', ''), { values: [], directive: ':0' });
  t.same(await words('status', '--context', ''), { values: [], directive: ':4' });
  t.same(await words('health', 'demo', 'extra', ''), { values: [], directive: ':4' });
});

t.test('global flags for lookups are read the way kubectl writes them', async (t) => {
  t.equal(flagValue(['-n', 'x'], ['namespace', 'n']), 'x');
  t.equal(flagValue(['--namespace=y'], ['namespace', 'n']), 'y');
  t.same(lookupArgs(['status', '--kubeconfig', '/k', '--context=c', '-n', 'ns', '']), {
    kubeconfig: '/k',
    context: 'c',
    namespace: 'ns',
  });
});

t.test('scripts for bash, zsh and fish ask kubectl-etcd __complete', async (t) => {
  t.match(completionScript('bash'), /kubectl-etcd __complete[\s\S]*complete -F _kubectl_etcd kubectl-etcd/);
  t.match(completionScript('zsh'), /^#compdef kubectl-etcd[\s\S]*compdef _kubectl_etcd kubectl-etcd/);
  t.match(completionScript('fish'), /complete -c kubectl-etcd -f -a '\(__kubectl_etcd_complete\)'/);
});
