/** The same hand-written 3-member cluster comes up with etcd 3.4 and 3.6 (3.5 is runtime-etcd-cluster). */
import t from 'tap';
import { Etcd3 } from 'etcd3';
import {
  createEtcdCluster,
  etcdClusterManifest,
  expectNothingLeft,
  forwardPort,
  startTestSandbox,
  startedMembers,
} from '../helpers/sandbox.js';

const sandbox = await startTestSandbox(t);
const kc = sandbox.kubeConfig;

for (const [name, image] of [
  ['v34', 'quay.io/coreos/etcd:v3.4.23'],
  ['v36', 'gcr.io/etcd-development/etcd:v3.6.16'],
] as const) {
  await t.test(`etcd ${image}: 3 members start, found by DNS name, reachable by port-forward`, async (t) => {
    await createEtcdCluster(kc, etcdClusterManifest(name, image));
    t.same(await startedMembers(kc, 'default', `${name}-0`), [`${name}-0`, `${name}-1`, `${name}-2`]);
    const forward = await forwardPort(kc, 'default', `${name}-2`, 2379);
    const client = new Etcd3({ hosts: `http://127.0.0.1:${forward.localPort}` });
    try {
      await client.put('k').value(name);
      t.equal(await client.get('k').string(), name);
      const version = await client.maintenance.status();
      t.equal(version.version, image.split(':v')[1], 'the exact version asked for runs');
    } finally {
      client.close();
      await forward.close();
    }
  });
}

await t.test('stop leaves no process, namespace, link or directory', async (t) => {
  await expectNothingLeft(t, sandbox);
});
