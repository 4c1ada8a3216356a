/**
 * Pods beyond etcd: env and `$(VAR)` expansion, Secret/ConfigMap/downward-API volumes (refreshed on
 * change), mount points that do not exist on the machine, init containers in order, restart
 * policies and phases, exec and liveness probes, logs of the current and previous run, Service names
 * in the pods' hosts files, and the faults (partition, volume loss).
 */
import { existsSync, readdirSync } from 'node:fs';
import t from 'tap';
import { CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { eventually, execInPod, expectNothingLeft, podReady, startTestSandbox } from '../helpers/sandbox.js';

const ns = 'default';
const sandbox = await startTestSandbox(t);
const kc = sandbox.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);
const read = (name: string) => core.readNamespacedPod({ name, namespace: ns });
const exec = (pod: string, command: string[]) => execInPod(kc, ns, pod, 'main', command);

function podOf(
  name: string,
  main: Partial<V1Container>,
  spec: Partial<V1Pod['spec']> = {},
  labels: Record<string, string> = { app: name },
): V1Pod {
  return {
    metadata: { name, namespace: ns, labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      ...spec,
      containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'], ...main }],
    },
  };
}

async function create(pod: V1Pod): Promise<void> {
  await core.createNamespacedPod({ namespace: ns, body: pod });
}

const waitPhase = (name: string, phase: string) =>
  eventually(`${name} ${phase}`, async () => {
    const p = await read(name);
    return p.status?.phase === phase ? p : undefined;
  });
const waitReady = (name: string) =>
  eventually(`${name} ready`, async () => {
    const p = await read(name);
    return podReady(p) ? p : undefined;
  });

/** A TCP server on 0.0.0.0:8080 in the pod (node is on the machine, hence in every container's view). */
const listener = [
  'node',
  '-e',
  // A tcpSocket probe connects and resets at once: the server must shrug that off.
  "require('net').createServer((s) => { s.on('error', () => {}); s.end('hi\\n'); }).listen(8080)",
];
const dial = (ip: string) => [
  'node',
  '-e',
  `const s = require('net').connect(8080, '${ip}'); s.setTimeout(1500); s.on('data', () => process.exit(0)); s.on('timeout', () => process.exit(1)); s.on('error', (e) => { console.error(e.message); process.exit(2); });`,
];

await t.test('env, $(VAR) expansion and volumes as in Kubernetes', async (t) => {
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'creds' }, stringData: { 'tls.key': 'secret-key', password: 'pw' } },
  });
  await core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name: 'settings' }, data: { mode: 'first', LEVEL: 'debug' } },
  });
  await create(
    podOf(
      'volumes',
      {
        workingDir: '/opt/sandbox-runtime-test/work',
        // sh -c would run $(…) itself: the expanded words reach it as arguments.
        command: [
          'sh',
          '-c',
          'echo "$* $CFG_LEVEL $PASSWORD"; getent hosts volumes >/dev/null && echo resolved; sleep 3600',
          'sh',
          '$(GREETING)',
          '$$(GREETING)',
          '$(NOPE)',
        ],
        env: [
          { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'GREETING', value: 'hello-$(NAME)' },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        ],
        envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'settings' } }],
        volumeMounts: [
          { name: 'secret', mountPath: '/etc/sandbox-runtime-test/pki' },
          { name: 'config', mountPath: '/etc/config' },
          { name: 'podinfo', mountPath: '/etc/podinfo' },
          { name: 'scratch', mountPath: '/opt/sandbox-runtime-test/work' },
        ],
      },
      {
        volumes: [
          {
            name: 'secret',
            secret: {
              secretName: 'creds',
              defaultMode: 0o400,
              items: [{ key: 'tls.key', path: 'server/tls.key' }],
            },
          },
          { name: 'config', configMap: { name: 'settings' } },
          {
            name: 'podinfo',
            downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] },
          },
          { name: 'scratch', emptyDir: {} },
        ],
      },
      { app: 'volumes', tier: 'test' },
    ),
  );
  await waitReady('volumes');
  const logs = await eventually('log line', async () => {
    const text = await core.readNamespacedPodLog({ name: 'volumes', namespace: ns });
    return text.split('\n').length > 2 ? text : undefined;
  });
  const [echoed, resolved] = logs.split('\n');
  t.equal(echoed, 'hello-volumes $(GREETING) $(NOPE) debug pw', 'expansion: $$ escapes, unknown names stay');
  t.equal(resolved, 'resolved', 'its own name resolves at the first start');
  t.equal(
    (await exec('volumes', ['cat', '/etc/sandbox-runtime-test/pki/server/tls.key'])).stdout,
    'secret-key',
  );
  t.equal(
    (
      await exec('volumes', ['stat', '-L', '-c', '%a', '/etc/sandbox-runtime-test/pki/server/tls.key'])
    ).stdout.trim(),
    '400',
    'defaultMode',
  );
  t.equal((await exec('volumes', ['cat', '/etc/podinfo/labels'])).stdout, 'app="volumes"\ntier="test"');
  t.equal((await exec('volumes', ['pwd'])).stdout.trim(), '/opt/sandbox-runtime-test/work', 'workingDir');
  t.notOk(existsSync('/opt/sandbox-runtime-test'), 'mount points are not created on the machine');
  t.notOk(existsSync('/etc/sandbox-runtime-test'), 'nor under the machine’s /etc');
  t.equal(
    (await exec('volumes', ['sh', '-c', 'echo x > /etc/config/new'])).exitCode !== 0,
    true,
    'configMap volumes are read-only',
  );

  await core.replaceNamespacedConfigMap({
    name: 'settings',
    namespace: ns,
    body: { metadata: { name: 'settings' }, data: { mode: 'second', LEVEL: 'debug' } },
  });
  await eventually('configMap volume refreshed', async () =>
    (await exec('volumes', ['cat', '/etc/config/mode'])).stdout === 'second' ? true : undefined,
  );
  t.pass('a changed ConfigMap shows in the volume');
});

await t.test('init containers run in order before the containers', async (t) => {
  const step = (name: string): V1Container => ({
    name,
    image: 'busybox',
    command: ['sh', '-c', `echo ${name} >> /shared/order`],
    volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
  });
  const pod = podOf(
    'init',
    { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] },
    {
      initContainers: [step('first'), step('second')],
      volumes: [{ name: 'shared', emptyDir: {} }],
    },
  );
  await create(pod);
  const p = await waitReady('init');
  t.same(
    p.status?.initContainerStatuses?.map((c) => c.state?.terminated?.reason),
    ['Completed', 'Completed'],
  );
  t.equal((await exec('init', ['cat', '/shared/order'])).stdout, 'first\nsecond\n', { status: p.status });
  t.equal(p.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
});

await t.test('restart policies decide the phase', async (t) => {
  await create(podOf('never', { command: ['sh', '-c', 'exit 3'] }, { restartPolicy: 'Never' }));
  await create(podOf('onfailure', { command: ['true'] }, { restartPolicy: 'OnFailure' }));
  const failed = await waitPhase('never', 'Failed');
  t.equal(failed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
  t.equal(failed.status?.containerStatuses?.[0]?.restartCount, 0, 'Never: no restart');
  await waitPhase('onfailure', 'Succeeded');
  t.pass('OnFailure with exit 0: Succeeded');

  await create(podOf('crashloop', { command: ['sh', '-c', 'echo run; exit 1'] }));
  const looping = await eventually('crash loop back-off', async () => {
    const c = (await read('crashloop')).status?.containerStatuses?.[0];
    return c?.state?.waiting?.reason === 'CrashLoopBackOff' && c.restartCount >= 1 ? c : undefined;
  });
  t.equal(looping.lastState?.terminated?.exitCode, 1, 'lastState keeps the exit code');
  const previous = await core.readNamespacedPodLog({ name: 'crashloop', namespace: ns, previous: true });
  t.equal(previous, 'run\n', 'the previous run’s log');
});

await t.test('a failing liveness probe restarts the container; readiness by tcpSocket', async (t) => {
  await create(
    podOf('probed', {
      command: listener,
      ports: [{ name: 'tcp', containerPort: 8080 }],
      readinessProbe: { tcpSocket: { port: 'tcp' }, periodSeconds: 1 },
      livenessProbe: {
        exec: { command: ['test', '-f', '/tmp/alive'] },
        periodSeconds: 1,
        failureThreshold: 2,
      },
    }),
  );
  const restarted = await eventually('liveness restart', async () => {
    const c = (await read('probed')).status?.containerStatuses?.[0];
    return (c?.restartCount ?? 0) >= 1 ? c : undefined;
  });
  t.ok(restarted.restartCount >= 1, 'restarted by the liveness probe');
  const unhealthy = await eventually('an Unhealthy event', async () => {
    const events = await core.listNamespacedEvent({ namespace: ns });
    return events.items.find((e) => e.involvedObject.name === 'probed' && e.reason === 'Unhealthy');
  });
  t.equal(unhealthy.message, 'Liveness probe failed', 'the restart was the liveness probe’s');
});

await t.test('Service names resolve inside pods; partition cuts a pod off its peers only', async (t) => {
  await core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 8080 }] } },
  });
  await create(
    podOf('web', { command: listener, readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }),
  );
  await create(podOf('client', {}));
  const web = await waitReady('web');
  await waitReady('client');
  const ip = web.status?.podIP ?? '';
  for (const name of ['web', 'web.default', 'web.default.svc', 'web.default.svc.cluster.local']) {
    const out = await eventually(`${name} resolves`, async () => {
      const r = await exec('client', ['getent', 'hosts', name]);
      return r.exitCode === 0 ? r.stdout : undefined;
    });
    t.match(out, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s`), `${name} → the ready endpoint`);
  }
  const byName = await exec('client', dial('web'));
  t.equal(byName.exitCode, 0, 'client reaches web by name', { stderr: byName.stderr });

  await sandbox.runtime.faults.partitionPod(ns, 'web');
  t.not((await exec('client', dial(ip))).exitCode, 0, 'partitioned: the peer cannot reach it');
  const fromHost = await fetch(`http://${ip}:8080`).then(
    () => 'http?',
    (err: Error) => (String(err.cause).includes('ECONNREFUSED') ? 'refused' : String(err.cause)),
  );
  t.not(fromHost, 'refused', 'the machine still reaches it');
  await sandbox.runtime.faults.healPod(ns, 'web');
  t.equal((await exec('client', dial(ip))).exitCode, 0, 'healed');
});

await t.test('destroying a volume empties its directory', async (t) => {
  await exec('init', ['sh', '-c', 'echo data > /shared/file']);
  sandbox.runtime.faults.destroyVolume(ns, 'init', 'shared');
  t.same(readdirSync(sandbox.runtime.pod(ns, 'init')?.volumes.shared ?? ''), []);
  t.not((await exec('init', ['cat', '/shared/file'])).exitCode, 0, 'the pod sees it gone');
});

await t.test('stop leaves no process, namespace, link or directory', async (t) => {
  await expectNothingLeft(t, sandbox);
});
