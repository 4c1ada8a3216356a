/**
 * The heavy half of kubectl-etcd: everything that reaches a cluster or a snapshot file (client-node,
 * etcd3 and gRPC, yaml). Commands import it on first use, `await import('../core.js')`; in the
 * bundle it is carried as source and compiled only then (see plugin/bundling.ts), so that
 * `--help` and `completion` never pay for it.
 */
import type { openStore as storesOpenStore } from '../lib/backup/stores.js';

export { openSession } from './session.js';
export { lookup as completionLookup } from './complete-lookup.js';
export { readSnapshotContent } from './snapshot-db.js';
export { saveSnapshot, inspectSnapshot } from '../lib/etcd/snapshot.js';
/** The S3 and GCS SDKs (~1.4 MB) are evaluated only when a command opens a store. */
export const openStore: typeof storesOpenStore = async (...args) =>
  (await import('../lib/backup/stores.js')).openStore(...args);
export { readCatalog } from '../lib/backup/catalog.js';
export { Transport } from '../lib/kube/transport.js';
export { stringify as yamlStringify } from 'yaml';
