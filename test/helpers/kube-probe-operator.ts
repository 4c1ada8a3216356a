/**
 * etcd-operator (operator/run.ts, unchanged) with one probe controller instead of the real ones,
 * for tests of the operator process: leader election, signals, draining. Each reconcile of a
 * ConfigMap appends `start <id> <name>` and `end <id> <name>` to the file $PROBE_MARKS, where <id>
 * is $PROBE_ID, so that a test can check from one totally ordered file that no two processes ever
 * reconciled at once.
 * A ConfigMap annotated `probe/slow: "true"` takes 1.5 s to reconcile; every key is requeued after
 * 200 ms, so the leader is always busy.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigMaps, Controller } from '../../lib/kube/index.js';
import type { ControllerFactory } from '../../operator/controllers.js';
import { run } from '../../operator/run.js';

const { PROBE_MARKS: marks, PROBE_ID: id } = process.env;
if (!marks || !id) throw new Error('PROBE_MARKS must name the marks file and PROBE_ID this process');

const probe: ControllerFactory = ({ cache, client, concurrency, logger, metrics, clock }) =>
  new Controller(
    {
      name: 'probe',
      for: ConfigMaps,
      concurrency,
      reconcile: async (key) => {
        appendFileSync(marks, `start ${id} ${key.name}\n`);
        const cm = await cache.get(ConfigMaps, key);
        if (cm.metadata?.annotations?.['probe/reconciled-by'] !== String(id)) {
          const body = { metadata: { annotations: { 'probe/reconciled-by': String(id) } } };
          await client.patch(ConfigMaps, key, { type: 'merge', body });
        }
        await sleep(cm.metadata?.annotations?.['probe/slow'] === 'true' ? 1500 : 50);
        appendFileSync(marks, `end ${id} ${key.name}\n`);
        return { requeueAfter: 200 };
      },
    },
    { cache, logger, metrics, clock },
  );

void run(process.argv.slice(2), { controllers: [probe] }).then((code) => process.exit(code));
