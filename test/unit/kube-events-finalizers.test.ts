import t from 'tap';
import { ConflictError } from '../../lib/errors.js';
import {
  addFinalizer,
  ConfigMaps,
  EventRecorder,
  hasFinalizer,
  removeFinalizer,
  type KubeObject,
} from '../../lib/kube/index.js';
import { FakeClock, MemoryClient } from '../helpers/fake-kube.js';

const cluster = {
  apiVersion: 'etcd.io/v1alpha1',
  kind: 'EtcdCluster',
  metadata: { name: 'demo', namespace: 'x', uid: 'uid-1', resourceVersion: '7' },
};

function recorder(clock = new FakeClock()) {
  const client = new MemoryClient();
  const events = new EventRecorder({
    client: client,
    component: 'etcd-operator',
    instance: 'pod-1',
    clock,
  });
  const stored = () => [...client.objects.values()] as (KubeObject & Record<string, unknown>)[];
  return { clock, client, events, stored };
}

t.test('an event records the object, type, reason and message as a core/v1 Event', async (t) => {
  const { events, stored } = recorder();
  await events.event(cluster, 'Normal', 'MemberAdded', 'added member demo-3 as a learner');
  t.match(stored(), [
    {
      metadata: { namespace: 'x', name: /^demo\.[0-9a-f]+$/ },
      involvedObject: {
        apiVersion: 'etcd.io/v1alpha1',
        kind: 'EtcdCluster',
        name: 'demo',
        namespace: 'x',
        uid: 'uid-1',
      },
      type: 'Normal',
      reason: 'MemberAdded',
      message: 'added member demo-3 as a learner',
      count: 1,
      firstTimestamp: '2024-01-01T00:00:00Z',
      lastTimestamp: '2024-01-01T00:00:00Z',
      source: { component: 'etcd-operator' },
      reportingComponent: 'etcd-operator',
      reportingInstance: 'pod-1',
    },
  ]);
});

t.test('a repeated event increments count and lastTimestamp instead of creating another', async (t) => {
  const { clock, events, stored, client } = recorder();
  await events.event(cluster, 'Warning', 'Unhealthy', 'member demo-1 is down');
  await clock.advance(5000);
  await Promise.all([
    events.event(cluster, 'Warning', 'Unhealthy', 'member demo-1 is down'),
    events.event(cluster, 'Warning', 'Unhealthy', 'member demo-1 is down'),
  ]);
  t.equal(stored().length, 1);
  t.match(stored()[0], {
    count: 3,
    firstTimestamp: '2024-01-01T00:00:00Z',
    lastTimestamp: '2024-01-01T00:00:05Z',
  });
  await events.event(cluster, 'Warning', 'Unhealthy', 'member demo-2 is down');
  t.equal(stored().length, 2, 'another message is another event');
  t.same(
    client.calls.map((c) => c.verb),
    ['create', 'patch', 'patch', 'create'],
  );
});

t.test('when the aggregated Event has expired, a new one is created', async (t) => {
  const { events, stored, client } = recorder();
  await events.event(cluster, 'Normal', 'Scaled', 'scaled to 5');
  client.objects.clear();
  await events.event(cluster, 'Normal', 'Scaled', 'scaled to 5');
  t.match(stored(), [{ count: 1 }]);
});

t.test('recording never throws into the caller', async (t) => {
  const { events, client } = recorder();
  client.failWith = new Error('API down');
  await t.resolves(events.event(cluster, 'Normal', 'Scaled', 'scaled to 5'));
});

t.test('two events in the same millisecond get distinct names', async (t) => {
  const { events, stored } = recorder();
  await events.event(cluster, 'Normal', 'A', 'one');
  await events.event(cluster, 'Normal', 'B', 'two');
  const names = stored().map((e) => e.metadata?.name);
  t.equal(new Set(names).size, 2);
});

t.test('finalizers: add and remove once, guarded by the resourceVersion read', async (t) => {
  const client = new MemoryClient();
  const created = await client.create(null, {
    metadata: { name: 'a', namespace: 'x', finalizers: ['other.io/keep'] },
  });
  const patch = client as unknown as Parameters<typeof addFinalizer>[0];
  const added = await addFinalizer(patch, ConfigMaps, created, 'etcd.io/members');
  t.same(added.metadata?.finalizers, ['other.io/keep', 'etcd.io/members']);
  t.ok(hasFinalizer(added, 'etcd.io/members'));
  t.equal(await addFinalizer(patch, ConfigMaps, added, 'etcd.io/members'), added, 'already there: no write');
  await t.rejects(
    removeFinalizer(patch, ConfigMaps, created, 'other.io/keep'),
    ConflictError,
    'a stale object fails instead of dropping a finalizer added meanwhile',
  );
  const removed = await removeFinalizer(patch, ConfigMaps, added, 'etcd.io/members');
  t.same(removed.metadata?.finalizers, ['other.io/keep']);
  t.notOk(hasFinalizer(removed, 'etcd.io/members'));
  t.equal(client.calls.filter((c) => c.verb === 'patch').length, 3);
});
