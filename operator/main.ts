/** The etcd-operator executable. */
import { run } from './run.js';

// Exit explicitly: after a lost lease nothing may keep the process (and its reconciles) alive.
void run(process.argv.slice(2)).then((code) => process.exit(code));
