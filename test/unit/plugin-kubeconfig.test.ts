import { join } from 'node:path';
import t from 'tap';
import { UsageError } from '../../lib/errors.js';
import { loadKubeconfig } from '../../plugin/kubeconfig.js';

const config = (cluster: string, server: string, context: string, namespace?: string) => `
apiVersion: v1
kind: Config
clusters:
  - name: ${cluster}
    cluster: { server: ${server} }
users:
  - name: ${cluster}-user
    user: { token: secret-${cluster} }
contexts:
  - name: ${context}
    context: { cluster: ${cluster}, user: ${cluster}-user${namespace ? `, namespace: ${namespace}` : ''} }
current-context: ${context}
`;

const dir = t.testdir({
  a: config('alpha', 'https://alpha:6443', 'ctx-a', 'team-a'),
  b: config('beta', 'https://beta:6443', 'ctx-b'),
  dup: config('alpha', 'https://other:6443', 'ctx-dup'),
  broken: 'apiVersion: v1\nclusters: [\n  - oops\n',
  home: { '.kube': { config: config('home', 'https://home:6443', 'ctx-home') } },
  empty: {},
  nocontext: 'apiVersion: v1\nclusters: []\ncontexts: []\nusers: []\n',
});
const at = (name: string) => join(dir, name);

t.test('--kubeconfig is read alone, with the namespace of its context', async (t) => {
  const { kubeConfig, namespace, warnings } = loadKubeconfig(
    { kubeconfig: at('a') },
    { KUBECONFIG: at('b') },
  );
  t.equal(kubeConfig.getCurrentCluster()?.server, 'https://alpha:6443');
  t.equal(namespace, 'team-a');
  t.same(warnings, []);
});

t.test('KUBECONFIG files merge, the first name and current-context win, with a warning', async (t) => {
  const { kubeConfig, warnings } = loadKubeconfig(
    {},
    { KUBECONFIG: [at('a'), at('missing'), at('b'), at('dup')].join(':') },
  );
  t.equal(kubeConfig.getCurrentContext(), 'ctx-a');
  t.same(
    kubeConfig.getContexts().map((c) => c.name),
    ['ctx-a', 'ctx-b', 'ctx-dup'],
  );
  t.equal(kubeConfig.getClusters().find((c) => c.name === 'alpha')?.server, 'https://alpha:6443');
  t.same(warnings, [
    `cluster "alpha" is in ${at('a')} and ${at('dup')}: using the one in ${at('a')}, as kubectl does`,
    `user "alpha-user" is in ${at('a')} and ${at('dup')}: using the one in ${at('a')}, as kubectl does`,
  ]);
});

t.test('--context, --cluster and --user choose and override', async (t) => {
  const env = { KUBECONFIG: `${at('a')}:${at('b')}` };
  t.equal(
    loadKubeconfig({ context: 'ctx-b' }, env).kubeConfig.getCurrentCluster()?.server,
    'https://beta:6443',
  );
  const overridden = loadKubeconfig({ cluster: 'beta', user: 'beta-user' }, env).kubeConfig;
  t.equal(overridden.getCurrentCluster()?.server, 'https://beta:6443');
  t.equal(overridden.getCurrentUser()?.token, 'secret-beta');
  t.throws(() => loadKubeconfig({ context: 'nope' }, env), {
    message: 'context "nope" is not in the kubeconfig (contexts: ctx-a, ctx-b)',
  });
  t.throws(() => loadKubeconfig({ cluster: 'nope' }, env), {
    message: 'cluster "nope" is not in the kubeconfig (clusters: alpha, beta)',
  });
  t.throws(() => loadKubeconfig({ user: 'nope' }, env), {
    message: 'user "nope" is not in the kubeconfig (users: alpha-user, beta-user)',
  });
});

t.test('~/.kube/config when KUBECONFIG is unset', async (t) => {
  t.equal(
    loadKubeconfig({}, { HOME: at('home') }).kubeConfig.getCurrentCluster()?.server,
    'https://home:6443',
  );
});

t.test('no kubeconfig at all is an error, never a fallback to localhost:8080', async (t) => {
  t.throws(() => loadKubeconfig({}, { HOME: at('empty') }), {
    name: 'UsageError',
    message: `no kubeconfig: ${at('empty')}/.kube/config does not exist; pass --kubeconfig or set KUBECONFIG`,
  });
  t.throws(() => loadKubeconfig({}, { KUBECONFIG: at('missing') }), {
    message: `no kubeconfig: none of KUBECONFIG (${at('missing')}) exists; pass --kubeconfig or set KUBECONFIG`,
  });
  t.throws(() => loadKubeconfig({ kubeconfig: at('missing') }, {}), UsageError);
});

t.test('a broken file or one without a context says which and why', async (t) => {
  t.throws(() => loadKubeconfig({ kubeconfig: at('broken') }, {}), {
    message: new RegExp(
      `^kubeconfig ${at('broken')} cannot be read: missed comma between flow collection entries`,
    ),
  });
  t.throws(() => loadKubeconfig({ kubeconfig: at('nocontext') }, {}), {
    message: 'the kubeconfig has no current context: pass --context (or --cluster and --user)',
  });
});
