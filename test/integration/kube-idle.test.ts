/**
 * An idle controller costs the API server watches only: after its first lists, reconciles read the
 * cache, and a watch the server ends resumes from the last resourceVersion instead of listing again.
 * Counted by the sandbox's request log.
 */
import t from 'tap';
import { Cache, clientSources, ConfigMaps, Controller, Secrets } from '../../lib/kube/index.js';
import { createNamespace, startKubeSandbox, waitFor } from '../helpers/kube-sandbox.js';

t.test('an idle controller watching 100 objects makes no GET or LIST after its initial sync', async (t) => {
  const sandbox = await startKubeSandbox(t, ['controller']);
  const admin = sandbox.client();
  await createNamespace(admin, 'idle');
  for (let i = 0; i < 100; i++) {
    await admin.create(ConfigMaps, {
      metadata: { name: `cm-${i}`, namespace: 'idle' },
      data: { i: String(i) },
    });
  }
  // Watches of 1-2 s, so that the server ends several of them while we look.
  const cache = new Cache({ sources: clientSources(sandbox.client('controller'), 1), namespaces: ['idle'] });
  const reconciled = new Set<string>();
  const controller = new Controller(
    {
      name: 'idle',
      for: ConfigMaps,
      owns: [Secrets],
      reconcile: async (key) => {
        // A level-based reconcile reads its object and its children, from the cache.
        await cache.get(ConfigMaps, key);
        await cache.list(Secrets, { namespace: key.namespace });
        reconciled.add(key.name);
      },
    },
    { cache },
  );
  cache.start();
  await controller.start();
  t.teardown(async () => {
    await controller.stop();
    await cache.stop();
  });
  await waitFor('every object reconciled', () => (reconciled.size === 100 ? true : undefined));

  const { requests } = sandbox.server;
  const mine = { user: 'controller' };
  const initial = requests.countBy('verb', mine);
  t.same(initial.list, 2, 'one list per informer (configmaps, secrets)');
  const watchesBefore = requests.count({ ...mine, verb: 'watch' });
  await waitFor(
    'the server to end and the informers to renew their watches three times each',
    () => (requests.count({ ...mine, verb: 'watch' }) >= watchesBefore + 6 ? true : undefined),
    60_000,
  );
  const after = requests.countBy('verb', mine);
  t.comment(`requests by verb: ${JSON.stringify(after)}`);
  t.same(Object.keys(after).sort(), ['list', 'watch'], 'only lists and watches, ever');
  t.equal(after.list, initial.list, 'no LIST after the initial sync');
  t.notOk(after.get, 'no GET at all');
  t.ok((after.watch ?? 0) >= watchesBefore + 6, 'watches renewed');
});
