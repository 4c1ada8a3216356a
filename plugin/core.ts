/**
 * The heavy half of kubectl-etcd: everything that reaches a cluster or a snapshot file (client-node,
 * etcd3 and gRPC, yaml). Commands import it on first use, `await import('../core.js')`; in the
 * bundle it is carried as source and compiled only then (see plugin/bundling.ts), so that
 * `--help` and `completion` never pay for it.
 */
export { openSession } from './session.js';
export { lookup as completionLookup } from './complete-lookup.js';
export { readSnapshotContent } from './snapshot-db.js';
export { saveSnapshot, inspectSnapshot } from '../lib/etcd/snapshot.js';
export { Transport } from '../lib/kube/transport.js';
export { stringify as yamlStringify } from 'yaml';
