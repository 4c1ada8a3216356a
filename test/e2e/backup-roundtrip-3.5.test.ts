import t from 'tap';
import { startTargetSandbox } from '../helpers/apiserver-target.js';
import { roundTripSandboxOptions, roundTripScenario } from './backup-roundtrip.js';

// ~20,000 keys, three backups and three restores: longer than tap's default per file.
t.setTimeout(1_200_000);

t.test('etcd 3.5: backed up to a volume, S3 and GCS, and restored from each', async (t) => {
  const sandbox = await startTargetSandbox(t, await roundTripSandboxOptions(t));
  await roundTripScenario(t, sandbox, '3.5');
});
