/**
 * The kubectl_complete-etcd executable: kubectl (>= 1.26) runs it with the words of `kubectl etcd
 * …<TAB>` and reads cobra's completion protocol back. Bundled beside bin/kubectl-etcd, it runs
 * that bundle as `kubectl-etcd __complete <words>` rather than carrying a second copy of it.
 */
import { createRequire } from 'node:module';

process.argv.splice(2, 0, '__complete');
createRequire(import.meta.url)('./kubectl-etcd');
