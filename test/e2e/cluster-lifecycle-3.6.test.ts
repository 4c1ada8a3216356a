import t from 'tap';
import { lifecycleScenario } from './cluster-lifecycle.js';

t.test('etcd 3.6: scale, heal and keep every acknowledged write', (t) => lifecycleScenario(t, '3.6.0'));
