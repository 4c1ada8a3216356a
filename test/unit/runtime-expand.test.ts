import t from 'tap';
import { expand } from '../../sandbox/runtime/expand.js';
import { containerArgv, containerEnv, ContainerConfigError } from '../../sandbox/runtime/env.js';
import type { V1Pod } from '@kubernetes/client-node';

const vars: Record<string, string> = { A: 'a', EMPTY: '' };
const lookup = (name: string) => vars[name];

t.test('$(VAR) expansion follows Kubernetes', async (t) => {
  const table: [string, string][] = [
    ['$(A)', 'a'],
    ['x$(A)y$(A)', 'xaya'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$a'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$(EMPTY)!', '!'],
    ['$(A', '$(A'],
    ['$A', '$A'],
    ['cost: 5$', 'cost: 5$'],
    ['$', '$'],
    ['', ''],
    ['$()', '$()'],
  ];
  for (const [input, want] of table) t.equal(expand(input, lookup), want, JSON.stringify(input));
});

const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { app: 'x' } },
  spec: { nodeName: 'sandbox', containers: [] },
};
const sources = {
  secret: (_ns: string, name: string) => (name === 's' ? { k: Buffer.from('secret') } : undefined),
  configMap: (_ns: string, name: string) =>
    name === 'c' ? { LEVEL: Buffer.from('debug'), mode: Buffer.from('m') } : undefined,
  podIP: '10.0.0.2',
  hostIP: '10.0.0.1',
};

t.test('env: envFrom first, then env in order, with references to earlier names', async (t) => {
  const env = containerEnv(
    pod,
    {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'c' }, prefix: 'CFG_' }],
      env: [
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'URL', value: 'http://$(NAME).$(NS):$(CFG_LEVEL)' },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        { name: 'OPT', valueFrom: { secretKeyRef: { name: 'missing', key: 'k', optional: true } } },
      ],
    },
    sources,
  );
  t.same(Object.fromEntries(env), {
    CFG_LEVEL: 'debug',
    CFG_mode: 'm',
    NAME: 'p',
    URL: 'http://p.$(NS):debug',
    NS: 'ns',
    IP: '10.0.0.2',
    NODE: 'sandbox',
    APP: 'x',
    S: 'secret',
  });
});

t.test('env: a missing required Secret or key is a container config error', async (t) => {
  t.throws(
    () =>
      containerEnv(
        pod,
        { name: 'c', env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 'missing', key: 'k' } } }] },
        sources,
      ),
    ContainerConfigError,
  );
  t.throws(
    () =>
      containerEnv(
        pod,
        { name: 'c', env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'nope' } } }] },
        sources,
      ),
    /couldn't find key nope/,
  );
  t.throws(
    () => containerEnv(pod, { name: 'c', envFrom: [{ secretRef: { name: 'missing' } }] }, sources),
    /not found/,
  );
});

t.test('argv: command replaces the entrypoint, args the cmd; only the spec is expanded', async (t) => {
  const image = { entrypoint: ['/entry', '$(A)'], cmd: ['--default'] };
  const env = new Map([['A', 'a']]);
  t.same(containerArgv({ name: 'c' }, image, env), ['/entry', '$(A)', '--default']);
  t.same(containerArgv({ name: 'c', args: ['--x=$(A)'] }, image, env), ['/entry', '$(A)', '--x=a']);
  t.same(containerArgv({ name: 'c', command: ['run', '$(A)'] }, image, env), ['run', 'a']);
  t.same(containerArgv({ name: 'c', command: ['run'], args: ['$$(A)'] }, image, env), ['run', '$(A)']);
});
