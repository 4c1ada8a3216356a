/**
 * @kubernetes/client-node 1.4 against the sandbox API server: typed calls and their errors, the
 * informer through dropped watches and 410 Gone, injected faults, and exec / port-forward over
 * WebSocket to a stub pod backend.
 */
import {
  ApiException,
  CoreV1Api,
  Exec,
  PortForward,
  RbacAuthorizationV1Api,
  makeInformer,
  type KubernetesObject,
  type V1Pod,
  type V1Status,
} from '@kubernetes/client-node';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import t from 'tap';
import type { ApiServer, PodBackend } from '../../sandbox/index.js';
import { eventually, kubeConfigFor, requestsReach, startTestApiServer } from '../helpers/apiserver.js';

const pod = (name: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'etcd', image: 'etcd' }] },
});

/** Where a TCP echo server listens, closed at teardown. */
async function echoServer(t: { teardown(fn: () => Promise<void>): void }): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

function startInformer(t: { teardown(fn: () => void | Promise<void>): void }, server: ApiServer) {
  const kc = kubeConfigFor(server);
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Pod>(kc, '/api/v1/namespaces/default/pods', () =>
    core.listNamespacedPod({ namespace: 'default' }),
  );
  const seen: string[] = [];
  const errors: unknown[] = [];
  informer.on('add', (p) => seen.push(`add ${p.metadata?.name ?? ''}`));
  informer.on('update', (p) => seen.push(`update ${p.metadata?.name ?? ''}`));
  informer.on('delete', (p) => seen.push(`delete ${p.metadata?.name ?? ''}`));
  informer.on('error', (err) => errors.push(err));
  t.teardown(() => informer.stop());
  return { informer, core, seen, errors };
}

const until = (seen: string[], event: string) => eventually(() => (seen.includes(event) ? true : undefined));

t.test('an informer lists, then watches adds, updates and deletes', async (t) => {
  const server = await startTestApiServer(t);
  const { informer, core, seen } = startInformer(t, server);
  await core.createNamespacedPod({ namespace: 'default', body: pod('before') });
  await informer.start();
  await until(seen, 'add before');
  await core.createNamespacedPod({ namespace: 'default', body: pod('after') });
  await until(seen, 'add after');
  await core.patchNamespacedPod({
    namespace: 'default',
    name: 'after',
    body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }],
  });
  await until(seen, 'update after');
  await core.deleteNamespacedPod({ namespace: 'default', name: 'after' });
  await until(seen, 'delete after');
  t.same(
    informer.list().map((p: KubernetesObject) => p.metadata?.name),
    ['before'],
  );
  t.equal(server.requests.count({ verb: 'list', resource: 'pods' }), 1, 'one list, then only watching');
});

t.test('an informer resumes after the server closes its watch, without relisting', async (t) => {
  const server = await startTestApiServer(t);
  const { informer, core, seen, errors } = startInformer(t, server);
  await informer.start();
  await requestsReach(server, { verb: 'watch', resource: 'pods' }, 1);
  t.equal(server.faults.dropWatches(), 1);
  await requestsReach(server, { verb: 'watch', resource: 'pods' }, 2);
  await core.createNamespacedPod({ namespace: 'default', body: pod('later') });
  await until(seen, 'add later');
  t.equal(server.requests.count({ verb: 'list', resource: 'pods' }), 1);
  t.same(errors, []);
});

t.test('an informer relists after 410 Gone when its version was compacted', async (t) => {
  const server = await startTestApiServer(t);
  const { informer, core, seen, errors } = startInformer(t, server);
  await informer.start();
  await requestsReach(server, { verb: 'watch', resource: 'pods' }, 1);
  await core.createNamespacedPod({ namespace: 'default', body: pod('one') });
  await until(seen, 'add one');
  // The informer's next watch waits while 'two' is written and the history compacted past 'one'.
  let release = () => {};
  const hold = new Promise<void>((resolve) => (release = resolve));
  server.faults.inject({ verb: 'watch', resource: 'pods', times: 1, hold });
  server.faults.dropWatches();
  await eventually(() => (server.faults.held > 0 ? true : undefined));
  await core.createNamespacedPod({ namespace: 'default', body: pod('two') });
  server.faults.compactHistory();
  release();
  await until(seen, 'add two');
  t.equal(server.requests.count({ verb: 'list', resource: 'pods' }), 2, 'relisted after 410 Gone');
  await core.createNamespacedPod({ namespace: 'default', body: pod('three') });
  await until(seen, 'add three');
  t.same(errors, []);
  t.same(
    informer
      .list()
      .map((p: KubernetesObject) => p.metadata?.name)
      .sort(),
    ['one', 'three', 'two'],
  );
});

t.test(
  "client-node's own informer stops on an abruptly dropped watch (lib/kube's informer must restart)",
  async (t) => {
    const server = await startTestApiServer(t);
    const { informer, errors } = startInformer(t, server);
    await informer.start();
    await requestsReach(server, { verb: 'watch', resource: 'pods' }, 1);
    server.faults.dropWatches({ abrupt: true });
    await eventually(() => (errors.length > 0 ? true : undefined));
    t.equal(
      server.requests.count({ verb: 'watch', resource: 'pods' }),
      1,
      'it does not watch again by itself',
    );
  },
);

t.test('a stale update gets 409 Conflict; injected faults answer as asked', async (t) => {
  const server = await startTestApiServer(t);
  const core = kubeConfigFor(server).makeApiClient(CoreV1Api);
  const created = await core.createNamespacedPod({ namespace: 'default', body: pod('p') });
  await core.patchNamespacedPod({
    namespace: 'default',
    name: 'p',
    body: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }],
  });
  const stale = await core
    .replaceNamespacedPod({ namespace: 'default', name: 'p', body: created })
    .catch((e: unknown) => e);
  t.type(stale, ApiException);
  const err = stale as ApiException<string>;
  t.equal(err.code, 409);
  t.match(JSON.parse(err.body) as V1Status, {
    reason: 'Conflict',
    message:
      'Operation cannot be fulfilled on pods "p": the object has been modified; please apply your changes to the latest version and try again',
  });

  server.faults.inject({ verb: 'list', resource: 'pods', status: 500, times: 1 });
  const failed = await core.listNamespacedPod({ namespace: 'default' }).catch((e: unknown) => e);
  t.equal((failed as ApiException<string>).code, 500);
  t.equal(
    (await core.listNamespacedPod({ namespace: 'default' })).items.length,
    1,
    'only `times` requests fail',
  );

  server.faults.conflictStorm({ resource: 'pods', times: 2 });
  const current = await core.readNamespacedPod({ namespace: 'default', name: 'p' });
  for (let i = 0; i < 2; i++) {
    const e = await core
      .replaceNamespacedPod({ namespace: 'default', name: 'p', body: current })
      .catch((x: unknown) => x);
    t.equal((e as ApiException<string>).code, 409);
  }
  const replaced = await core.replaceNamespacedPod({ namespace: 'default', name: 'p', body: current });
  t.equal(replaced.metadata?.name, 'p', 'the storm passes');
  t.equal(server.requests.countBy('code', { verb: 'update' })['409'], 3);
});

function stubBackend(echoPort: number): PodBackend {
  return {
    async exec(_pod, _container, command, io) {
      if (io.stdin) {
        for await (const chunk of io.stdin) io.stdout.write(String(chunk).toUpperCase());
      }
      io.stderr.write(`ran ${command.join(' ')}\n`);
      return { exitCode: command[0] === 'false' ? 1 : 0 };
    },
    portForward: async () => {
      const socket = connect(echoPort, '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    },
    logs: async () => new PassThrough().end('log\n'),
  };
}

const collect = () => {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
};

t.test(
  'client-node Exec reaches the pod backend with stdin, stdout, stderr and the exit status',
  async (t) => {
    const server = await startTestApiServer(t, { podBackend: stubBackend(await echoServer(t)) });
    const kc = kubeConfigFor(server);
    await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'default', body: pod('p') });
    const stdout = collect();
    const stderr = collect();
    const stdin = new PassThrough();
    const statuses: V1Status[] = [];
    const ws = await new Exec(kc).exec(
      'default',
      'p',
      'etcd',
      ['cat'],
      stdout.stream,
      stderr.stream,
      stdin,
      false,
      (s) => statuses.push(s),
    );
    t.equal(ws.protocol, 'v5.channel.k8s.io');
    stdin.end('hello');
    await eventually(() => (statuses.length > 0 ? true : undefined));
    t.equal(stdout.text(), 'HELLO');
    t.equal(stderr.text(), 'ran cat\n');
    t.match(statuses[0], { status: 'Success' });

    const failing: V1Status[] = [];
    await new Exec(kc).exec('default', 'p', 'etcd', ['false'], null, null, null, false, (s) =>
      failing.push(s),
    );
    await eventually(() => (failing.length > 0 ? true : undefined));
    t.match(failing[0], {
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '1' }] },
    });
  },
);

t.test(
  'client-node PortForward carries a TCP connection to the pod backend over v4.channel.k8s.io',
  async (t) => {
    const server = await startTestApiServer(t, {
      podBackend: stubBackend(await echoServer(t)),
      users: { bob: {} },
    });
    const kc = kubeConfigFor(server);
    await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'default', body: pod('p') });

    const received = collect();
    const errors = collect();
    const input = new PassThrough();
    const ws = await new PortForward(kc).portForward(
      'default',
      'p',
      [2379],
      received.stream,
      errors.stream,
      input,
    );
    t.equal((ws as { protocol: string }).protocol, 'v4.channel.k8s.io');
    input.write('ping');
    await eventually(() => (received.text() === 'ping' ? true : undefined));
    t.equal(errors.text(), '');
    (ws as { close(): void }).close();

    const bob = kubeConfigFor(server, 'bob');
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: 'default',
      body: {
        metadata: { name: 'pod-reader' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: 'default',
      body: {
        metadata: { name: 'bob' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'User', name: 'bob' }],
      },
    });
    t.equal(
      (await bob.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: 'default', name: 'p' })).metadata
        ?.name,
      'p',
    );
    const denied = await new PortForward(bob)
      .portForward('default', 'p', [2379], collect().stream, null, new PassThrough())
      .then(
        () => 'connected',
        () => 'refused',
      );
    t.equal(denied, 'refused', 'the upgrade is refused');
    t.equal(server.requests.count({ user: 'bob', subresource: 'portforward', code: 403 }), 1);
  },
);
