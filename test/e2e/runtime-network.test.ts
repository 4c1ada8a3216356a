/**
 * The runtime's network beyond the happy path: loopback mode (what a non-root machine gets), and the
 * reaping of what a crashed runtime left behind (its slot, namespaces, processes and directories).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CoreV1Api } from '@kubernetes/client-node';
import { createPodRuntime, FaultUnsupportedError, runtimeProcesses } from '../../sandbox/runtime/index.js';
import { eventually, execInPod, expectNothingLeft, podReady, startTestSandbox } from '../helpers/sandbox.js';

await t.test('loopback mode: one loopback address per pod, which the pod binds itself', async (t) => {
  const sandbox = await startTestSandbox(t, { runtime: { network: 'loopback' } });
  t.equal(sandbox.runtime.networkMode, 'loopback');
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'lo' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: [
              'node',
              '-e',
              "require('net').createServer((s) => { s.on('error', () => {}); s.end('hi'); }).listen(8080, process.env.POD_IP)",
            ],
            env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  const pod = await eventually('lo ready', async () => {
    const p = await core.readNamespacedPod({ name: 'lo', namespace: 'default' });
    return podReady(p) ? p : undefined;
  });
  const ip = pod.status?.podIP ?? '';
  t.match(ip, /^127\.\d+\.0\.\d+$/, 'a loopback address');
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(8080, ip);
    socket.on('data', (d) => resolve(d.toString()));
    socket.on('error', reject);
  });
  t.equal(reply, 'hi', 'the machine reaches the pod at its address');
  const hosts = await execInPod(sandbox.kubeConfig, 'default', 'lo', 'main', ['getent', 'hosts', 'lo']);
  t.match(hosts.stdout, ip, 'its own hosts file is mounted over /etc/hosts');
  await t.rejects(
    sandbox.runtime.faults.partitionPod('default', 'lo'),
    FaultUnsupportedError,
    'partition: an explicit error',
  );
  await expectNothingLeft(t, sandbox);
});

await t.test('a crashed runtime’s leftovers are reaped by the next one', async (t) => {
  const runDir = '/run/etcd-sandbox';
  mkdirSync(runDir, { recursive: true });
  const dead = spawnSync('true').pid;
  const runtimeId = `stale-${process.pid}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'etcd-sandbox-stale-'));
  const claim = join(runDir, `.test-claim-${process.pid}`);
  writeFileSync(claim, JSON.stringify({ pid: dead, startTime: 'gone', runtimeId, stateDir }));
  let slot = 249;
  for (; slot > 0; slot--) {
    try {
      linkSync(claim, join(runDir, `slot-${slot}`));
      break;
    } catch {
      // taken
    }
  }
  unlinkSync(claim);
  const netns = `esb${slot}-7`;
  t.equal(spawnSync('ip', ['netns', 'add', netns]).status, 0, 'a stale namespace');
  mkdirSync(`/etc/netns/${netns}`, { recursive: true });
  writeFileSync(`/etc/netns/${netns}/hosts`, '');
  const orphan = spawn('ip', ['netns', 'exec', netns, 'sleep', '300'], {
    env: { ...process.env, SANDBOX_RUNTIME: runtimeId },
    stdio: 'ignore',
    detached: true,
  });
  const orphanGone = new Promise((resolve) => orphan.once('exit', resolve));
  await eventually('the orphan runs', async () =>
    runtimeProcesses(runtimeId).length > 0 ? true : undefined,
  );

  const runtime = await createPodRuntime();
  try {
    await orphanGone;
    t.same(runtimeProcesses(runtimeId), [], 'its processes are killed');
    t.notOk(existsSync(`/run/netns/${netns}`), 'its namespace is deleted');
    t.notOk(existsSync(`/etc/netns/${netns}`), 'its hosts directory is removed');
    t.notOk(existsSync(stateDir), 'its state directory is removed');
    t.notOk(existsSync(join(runDir, `slot-${slot}`)), 'its slot is free');
  } finally {
    await runtime.stop();
  }
  t.same(runtime.leftovers(), { processes: [], netns: [], links: [], dirs: [] });
});
