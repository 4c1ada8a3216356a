/**
 * The raw-HTTP scenario (test/scenarios/apiserver.yaml) replayed against the sandbox API server:
 * the status codes, Status reasons, causes and messages a real kube-apiserver answers.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { crds } from '../../generated/crds.js';
import { startTestApiServer } from '../helpers/apiserver.js';
import { replayScenario } from '../scenarios/replay.js';

t.test('the sandbox answers every request of the scenario as a real API server does', async (t) => {
  const server = await startTestApiServer(t, { crds });
  const results = await replayScenario(
    'test/scenarios/apiserver.yaml',
    { url: server.url, caCert: server.caCert, token: server.token(), crds: true },
    `scenario-${randomBytes(3).toString('hex')}`,
  );
  t.ok(results.length > 60, `${results.length} steps replayed`);
  for (const r of results) t.same(r.problems, [], r.name);
});
