/**
 * The real kubectl (on PATH) against the sandbox API server: what a user does with our CRDs, and
 * the wire details kubectl depends on (aggregated discovery, server-side validation, Tables,
 * the scale subresource, watch, delete waiting for finalizers, protobuf bodies, exec, RBAC).
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { parse } from 'yaml';
import { parseEtcdCluster } from '../../lib/api/index.js';
import type { PodBackend } from '../../sandbox/index.js';
import { eventually, kubeConfigFor, requestsReach, startTestApiServer } from '../helpers/apiserver.js';
import { kubectlFor } from '../helpers/kubectl.js';

const minimal = { apiVersion: 'etcd.io/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'demo' }, spec: {} };
const manifest = (o: object) => JSON.stringify(o);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

t.test('kubectl applies the generated CRDs and a minimal EtcdCluster, and shows every default', async (t) => {
  const server = await startTestApiServer(t);
  const kubectl = kubectlFor(t, server);

  const crds = await kubectl.run(['apply', '-f', 'generated/crds/']);
  t.equal(crds.code, 0, crds.stderr);
  t.match(crds.stdout, /customresourcedefinition.apiextensions.k8s.io\/etcdclusters.etcd.io created/);
  t.match(crds.stdout, /customresourcedefinition.apiextensions.k8s.io\/etcdbackups.etcd.io created/);

  const applied = await kubectl.run(['apply', '-f', '-'], manifest(minimal));
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, 'etcdcluster.etcd.io/demo created');

  const got = await kubectl.run(['get', 'etcdcluster', 'demo', '-o', 'yaml']);
  t.equal(got.code, 0, got.stderr);
  const stored = parse(got.stdout) as { spec: unknown; metadata: { generation: number; uid: string } };
  t.same(
    stored.spec,
    parseEtcdCluster({ ...minimal, metadata: { name: 'demo' } }).object.spec,
    'every schema default is stored',
  );
  t.equal(stored.metadata.generation, 1);
  t.match(stored.metadata.uid, /^[0-9a-f-]{36}$/);

  const again = await kubectl.run(['apply', '-f', '-'], manifest(minimal));
  t.match(again.stdout, 'etcdcluster.etcd.io/demo unchanged');
});

t.test(
  'kubectl apply --server-side creates and updates with field ownership; get -A lists every namespace',
  async (t) => {
    const server = await startTestApiServer(t, { crds: (await import('../../generated/crds.js')).crds });
    const kubectl = kubectlFor(t, server);
    const created = await kubectl.run(['apply', '--server-side', '-f', '-'], manifest(minimal));
    t.equal(created.code, 0, created.stderr);
    t.match(created.stdout, 'etcdcluster.etcd.io/demo serverside-applied');
    const sized = await kubectl.run(
      ['apply', '--server-side', '-f', '-'],
      manifest({ ...minimal, spec: { size: 5 } }),
    );
    t.equal(sized.code, 0, sized.stderr);
    const got = parse(
      (await kubectl.run(['get', 'ec', 'demo', '-o', 'yaml', '--show-managed-fields'])).stdout,
    ) as {
      spec: { size: number };
      metadata: { managedFields: { manager: string; operation: string; fieldsV1: object }[] };
    };
    t.equal(got.spec.size, 5);
    t.match(got.metadata.managedFields, [
      { manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:size': {} } } },
    ]);

    await kubectl.run(['create', 'namespace', 'other']);
    await kubectl.run(
      ['apply', '-n', 'other', '-f', '-'],
      manifest({ ...minimal, metadata: { name: 'second' } }),
    );
    const all = await kubectl.run(['get', 'ec', '-A']);
    t.match(all.stdout, /^NAMESPACE\s+NAME\s+SIZE/);
    t.match(all.stdout, /\ndefault\s+demo\s+5\s/);
    t.match(all.stdout, /\nother\s+second\s+3\s/);
  },
);

t.test('kubectl get shows the printer columns, and -o wide the priority ones', async (t) => {
  const server = await startTestApiServer(t, { crds: (await import('../../generated/crds.js')).crds });
  const kubectl = kubectlFor(t, server);
  await kubectl.run(['apply', '-f', '-'], manifest(minimal));
  const custom = kubeConfigFor(server).makeApiClient(CustomObjectsApi);
  await custom.patchNamespacedCustomObjectStatus(
    {
      group: 'etcd.io',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'etcdclusters',
      name: 'demo',
      body: { status: { phase: 'Running', readyReplicas: 3, currentVersion: '3.5.9', leader: 'demo-a' } },
    },
    mergePatch,
  );

  const table = await kubectl.run(['get', 'etcdclusters']);
  t.equal(table.code, 0, table.stderr);
  const [header, row] = table.stdout.trim().split('\n');
  t.same(header?.split(/\s+/), ['NAME', 'SIZE', 'READY', 'PHASE', 'VERSION', 'AGE']);
  t.match(row ?? '', /^demo\s+3\s+3\s+Running\s+3\.5\.9\s+\d+s$/, 'the Age is a short duration');

  const wide = await kubectl.run(['get', 'ec', '-o', 'wide']);
  t.match(wide.stdout, /LEADER/);
  t.match(wide.stdout, /demo-a/);
});

t.test('kubectl scale changes spec.size through the scale subresource', async (t) => {
  const server = await startTestApiServer(t, { crds: (await import('../../generated/crds.js')).crds });
  const kubectl = kubectlFor(t, server);
  await kubectl.run(['apply', '-f', '-'], manifest(minimal));
  server.requests.clear();

  const scaled = await kubectl.run(['scale', 'etcdcluster/demo', '--replicas=5']);
  t.equal(scaled.code, 0, scaled.stderr);
  t.match(scaled.stdout, 'etcdcluster.etcd.io/demo scaled');
  t.equal(
    server.requests.count({ verb: 'patch', resource: 'etcdclusters', subresource: 'scale', code: 200 }),
    1,
  );
  const size = await kubectl.run(['get', 'ec', 'demo', '-o', 'jsonpath={.spec.size} {.metadata.generation}']);
  t.equal(size.stdout, '5 2', 'spec.size changed and the generation moved');

  const tooBig = await kubectl.run(['scale', 'etcdcluster/demo', '--replicas=12']);
  t.equal(tooBig.code, 1);
  t.match(tooBig.stderr, /spec.size: Invalid value: 12/);
});

t.test('kubectl rejects an invalid EtcdCluster with the field errors the server returns', async (t) => {
  const server = await startTestApiServer(t, { crds: (await import('../../generated/crds.js')).crds });
  const kubectl = kubectlFor(t, server);
  const bad = { ...minimal, metadata: { name: 'bad' }, spec: { size: 12 } };
  const one = await kubectl.run(['apply', '-f', '-'], manifest(bad));
  t.equal(one.code, 1);
  t.match(
    one.stderr,
    'The EtcdCluster "bad" is invalid: spec.size: Invalid value: 12: spec.size in body should be less than or equal to 9',
  );

  const two = await kubectl.run(
    ['apply', '-f', '-'],
    manifest({ ...bad, spec: { size: 12, version: 'latest' } }),
  );
  t.match(two.stderr, /\* spec.size: Invalid value: 12/);
  t.match(two.stderr, /\* spec.version: Invalid value: "latest"/);

  const unknown = await kubectl.run(['apply', '-f', '-'], manifest({ ...minimal, spec: { sise: 3 } }));
  t.equal(unknown.code, 1, 'kubectl asks for strict validation, so an unknown field is an error');
  t.match(unknown.stderr, /unknown field "spec.sise"/);

  const semantic = await kubectl.run(
    ['apply', '-f', '-'],
    manifest({ ...minimal, spec: { version: '3.3.0' } }),
  );
  t.match(
    semantic.stderr,
    /spec.version: Invalid value: "3.3.0": etcd 3.3.0 is not supported/,
    'lib/api rules run as admission',
  );

  const warned = await kubectl.run(['apply', '-f', '-'], manifest({ ...minimal, spec: { size: 4 } }));
  t.equal(warned.code, 0, warned.stderr);
  t.match(warned.stderr, /Warning: spec.size: 4 members tolerate no more failures than 3/);
});

t.test('kubectl get pods -w streams changes as table rows', async (t) => {
  const server = await startTestApiServer(t);
  const kubectl = kubectlFor(t, server);
  const core = kubeConfigFor(server).makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: { metadata: { name: 'first' }, spec: { containers: [{ name: 'etcd', image: 'etcd' }] } },
  });

  const watch = kubectl.start(['get', 'pods', '-w']);
  await watch.waitFor(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nfirst\s+0\/1\s+Pending/);
  await core.createNamespacedPod({
    namespace: 'default',
    body: { metadata: { name: 'second' }, spec: { containers: [{ name: 'etcd', image: 'etcd' }] } },
  });
  await watch.waitFor(/second\s+0\/1\s+Pending/);
  await core.patchNamespacedPodStatus(
    {
      namespace: 'default',
      name: 'second',
      body: {
        status: {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'etcd',
              ready: true,
              restartCount: 0,
              image: 'etcd',
              imageID: '',
              state: { running: {} },
            },
          ],
        },
      },
    },
    mergePatch,
  );
  await watch.waitFor(/second\s+1\/1\s+Running/);
  await core.deleteNamespacedPod({ namespace: 'default', name: 'first' });
  await watch.waitFor(/^first\s(.|\n)*^first\s/m); // a deletion prints the last state of the row again
  t.equal(
    watch
      .output()
      .split('\n')
      .filter((l) => l.startsWith('NAME')).length,
    1,
    'the header is printed once',
  );
  watch.child.kill('SIGINT');
  await watch.exited;
});

t.test('kubectl delete waits until the last finalizer is removed', async (t) => {
  const server = await startTestApiServer(t, { crds: (await import('../../generated/crds.js')).crds });
  const kubectl = kubectlFor(t, server);
  const custom = kubeConfigFor(server).makeApiClient(CustomObjectsApi);
  const target = {
    group: 'etcd.io',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'etcdclusters',
    name: 'held',
  };
  await custom.createNamespacedCustomObject({
    ...target,
    body: { ...minimal, metadata: { name: 'held', finalizers: ['test.etcd.io/hold'] } },
  });

  const deletion = kubectl.start(['delete', 'etcdcluster', 'held']);
  const marked = await eventually(async () => {
    const o = (await custom.getNamespacedCustomObject(target)) as {
      metadata: { deletionTimestamp?: string };
    };
    return o.metadata.deletionTimestamp;
  });
  t.ok(marked, 'the object is marked for deletion, not removed');
  await requestsReach(server, { verb: 'watch', resource: 'etcdclusters' }, 1);
  t.equal(deletion.child.exitCode, null, 'kubectl is still waiting');

  await custom.patchNamespacedCustomObject(
    { ...target, body: { metadata: { finalizers: null } } },
    mergePatch,
  );
  const result = await deletion.exited;
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, 'etcdcluster.etcd.io "held" deleted');
  const gone = await kubectl.run(['get', 'ec', 'held']);
  t.match(gone.stderr, 'Error from server (NotFound): etcdclusters.etcd.io "held" not found');
});

t.test('kubectl describe shows the Events of an EtcdCluster', async (t) => {
  const server = await startTestApiServer(t, { crds: (await import('../../generated/crds.js')).crds });
  const kubectl = kubectlFor(t, server);
  const kc = kubeConfigFor(server);
  const created = (await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'etcd.io',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'etcdclusters',
    body: minimal,
  })) as { metadata: { uid: string } };
  await kc.makeApiClient(CoreV1Api).createNamespacedEvent({
    namespace: 'default',
    body: {
      metadata: { name: 'demo.1' },
      involvedObject: {
        apiVersion: 'etcd.io/v1alpha1',
        kind: 'EtcdCluster',
        name: 'demo',
        namespace: 'default',
        uid: created.metadata.uid,
      },
      reason: 'MemberAdded',
      message: 'added member demo-b as a learner',
      type: 'Normal',
      source: { component: 'etcd-operator' },
      count: 1,
      firstTimestamp: new Date(),
      lastTimestamp: new Date(),
    },
  });
  const described = await kubectl.run(['describe', 'etcdcluster', 'demo']);
  t.equal(described.code, 0, described.stderr);
  t.match(described.stdout, /Events:\s*\n\s+Type\s+Reason\s+Age\s+From\s+Message/);
  t.match(described.stdout, /Normal\s+MemberAdded\s+\S+\s+etcd-operator\s+added member demo-b as a learner/);
});

t.test(
  'kubectl create sends protobuf for namespaces and configmaps, and the server decodes it',
  async (t) => {
    const server = await startTestApiServer(t);
    const kubectl = kubectlFor(t, server);
    const ns = await kubectl.run(['create', 'namespace', 'team-a']);
    t.equal(ns.code, 0, ns.stderr);
    const cm = await kubectl.run('create configmap settings -n team-a --from-literal=mode=fast'.split(' '));
    t.equal(cm.code, 0, cm.stderr);
    const got = await kubectl.run('get configmap settings -n team-a -o jsonpath={.data.mode}'.split(' '));
    t.equal(got.stdout, 'fast');
    const missing = await kubectl.run(['create', 'configmap', 'x', '-n', 'nowhere']);
    t.match(missing.stderr, 'namespaces "nowhere" not found');
  },
);

t.test('kubectl exec runs in the pod backend over v5.channel.k8s.io and passes the exit code', async (t) => {
  const podBackend: PodBackend = {
    exec: async (_pod, container, command, io) => {
      io.stdout.write(`${container}: ${command.join(' ')}\n`);
      io.stderr.write('to stderr\n');
      return { exitCode: command.includes('fail') ? 3 : 0 };
    },
    portForward: () => Promise.reject(new Error('not used')),
    logs: async () => {
      const s = new PassThrough();
      s.end('line 1\nline 2\n');
      return s;
    },
  };
  const server = await startTestApiServer(t, { podBackend });
  const kubectl = kubectlFor(t, server);
  const core = kubeConfigFor(server).makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'p' },
      spec: { nodeName: 'n1', containers: [{ name: 'etcd', image: 'etcd' }] },
    },
  });

  const ok = await kubectl.run(['exec', 'p', '--', 'echo', 'hi']);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout, 'etcd: echo hi\n');
  t.match(ok.stderr, 'to stderr');
  const failed = await kubectl.run(['exec', 'p', '--', 'fail']);
  t.equal(failed.code, 3);
  t.match(failed.stderr, 'command terminated with exit code 3');
  const logs = await kubectl.run(['logs', 'p']);
  t.equal(logs.stdout, 'line 1\nline 2\n');
});

t.test('a user without rights gets 403 Forbidden, worded as the real server words it', async (t) => {
  const server = await startTestApiServer(t, { users: { bob: {} } });
  const bob = kubectlFor(t, server, 'bob');
  const admin = kubectlFor(t, server);
  const denied = await bob.run(['get', 'pods']);
  t.equal(denied.code, 1);
  t.match(
    denied.stderr,
    'Error from server (Forbidden): pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"',
  );
  const canI = await bob.run(['auth', 'can-i', 'list', 'pods']);
  t.equal(canI.stdout.trim(), 'no');

  t.equal((await admin.run(['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods'])).code, 0);
  t.equal(
    (await admin.run(['create', 'rolebinding', 'bob-reads', '--role=pod-reader', '--user=bob'])).code,
    0,
  );
  const allowed = await bob.run(['get', 'pods']);
  t.equal(allowed.code, 0, allowed.stderr);
  t.match(allowed.stderr, 'No resources found in default namespace.');
  t.equal((await bob.run(['auth', 'can-i', 'list', 'pods'])).stdout.trim(), 'yes');
  const elsewhere = await bob.run(['get', 'pods', '-n', 'kube-system']);
  t.match(elsewhere.stderr, 'in the namespace "kube-system"');
});
