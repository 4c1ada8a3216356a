import t from 'tap';
import { restoreScenario } from './cluster-restore.js';

t.test('etcd 3.6: a cluster created from a backup, and one from a corrupted copy', (t) =>
  restoreScenario(t, '3.6'),
);
