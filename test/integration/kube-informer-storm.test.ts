/**
 * The informer against the sandbox API server under a storm: 1,000 random creates, updates and
 * deletes while its watches are dropped (cleanly and abruptly), its history is compacted (410 Gone)
 * and its lists and watches get injected 500s. Afterwards its cache must equal the server's state.
 */
import { Registry } from 'prom-client';
import t from 'tap';
import { isNotFound } from '../../lib/errors.js';
import {
  clientSources,
  ConfigMaps,
  createKubeMetrics,
  formatKey,
  Informer,
  objectKey,
  type ConfigMap,
} from '../../lib/kube/index.js';
import { createNamespace, startKubeSandbox, waitFor } from '../helpers/kube-sandbox.js';

/** A small deterministic PRNG (mulberry32), so a failing storm can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test(
  'the cache equals the server after 1,000 random changes with dropped watches, 410s and 500s',
  async (t) => {
    const sandbox = await startKubeSandbox(t, ['informer'], { historyWindow: 50 });
    const writer = sandbox.client();
    await createNamespace(writer, 'storm');
    const registry = new Registry();
    const informer = new Informer<ConfigMap>(
      clientSources(sandbox.client('informer'))(ConfigMaps, { namespace: 'storm' }),
      {
        name: 'configmaps/storm',
        metrics: createKubeMetrics(registry),
        backoff: { initialMs: 10, maxMs: 200, factor: 2, jitter: 0.5 },
      },
    );
    informer.start();
    t.teardown(() => informer.stop());
    t.ok(await informer.waitForSync());

    const seed = 20240101;
    const random = prng(seed);
    const { faults } = sandbox.server;
    const live: string[] = [];
    let created = 0;
    const counts = { create: 0, update: 0, delete: 0, dropped: 0, compacted: 0, injected: 0 };
    for (let op = 0; op < 1000; op++) {
      if (op % 97 === 0) counts.dropped += faults.dropWatches({ abrupt: op % 2 === 0 });
      if (op % 151 === 0) {
        faults.compactHistory();
        counts.compacted++;
      }
      if (op % 211 === 0) {
        faults.inject({ user: 'informer', verb: ['list', 'watch'], status: 500, times: 3 });
        counts.injected += 3;
      }
      const dice = random();
      const name = live[Math.floor(random() * live.length)];
      if (live.length === 0 || dice < 0.4) {
        const fresh = `cm-${created++}`;
        await writer.create(ConfigMaps, {
          metadata: { name: fresh, namespace: 'storm', labels: { n: '0' } },
        });
        live.push(fresh);
        counts.create++;
      } else if (dice < 0.75 && name) {
        await writer.patch(
          ConfigMaps,
          { namespace: 'storm', name },
          { type: 'merge', body: { data: { op: String(op) } } },
        );
        counts.update++;
      } else if (name) {
        await writer.delete(ConfigMaps, { namespace: 'storm', name });
        live.splice(live.indexOf(name), 1);
        counts.delete++;
      }
    }
    t.comment(`seed ${seed}: ${JSON.stringify(counts)}`);
    // Whatever the storm's timing hit, end with each kind of trouble once for sure: a watch the
    // server ends, one cut off, and one whose version was compacted away.
    const dropOpenWatch = (abrupt: boolean) =>
      waitFor('an open watch', () => (faults.dropWatches({ abrupt }) > 0 ? true : undefined));
    await dropOpenWatch(false);
    await dropOpenWatch(true);
    faults.compactHistory();
    await dropOpenWatch(false);

    const serverState = async () => {
      const list = await writer.list(ConfigMaps, { namespace: 'storm' });
      return Object.fromEntries(
        list.items.map((o) => [formatKey(objectKey(o)), o.metadata?.resourceVersion]),
      );
    };
    const cacheState = () =>
      Object.fromEntries(
        informer.store.list().map((o) => [formatKey(objectKey(o)), o.metadata?.resourceVersion]),
      );
    const expected = await serverState();
    t.equal(Object.keys(expected).length, live.length, 'the server holds what the storm left');
    await waitFor('the cache to catch up', () =>
      JSON.stringify(cacheState()) === JSON.stringify(expected) ? true : undefined,
    ).catch(() => undefined);
    t.same(cacheState(), expected, 'every object, at its latest resourceVersion, and nothing else');
    const stored = informer.store.get({ namespace: 'storm', name: live[0] ?? '' });
    const fresh = await writer
      .get(ConfigMaps, { namespace: 'storm', name: live[0] ?? '' })
      .catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    t.same(stored, fresh, 'cached objects are the server objects, not summaries');

    const restarts = await registry.getSingleMetric('informer_watch_restarts_total')?.get();
    const byReason = Object.fromEntries(
      (restarts?.values ?? []).map((v) => [String(v.labels.reason), v.value]),
    );
    t.comment(`watch restarts: ${JSON.stringify(byReason)}`);
    t.ok((byReason.gone ?? 0) > 0, 'it relisted after 410 Gone');
    t.ok((byReason.error ?? 0) > 0, 'it recovered from failed watches and injected 500s');
    t.ok((byReason.closed ?? 0) > 0, 'it resumed watches the server ended');
  },
);
