/**
 * npm run build: bundles the two entry points into the executables bin/kubectl-etcd and
 * bin/etcd-operator, and emits the library's JavaScript and declarations into dist/ for the npm
 * package.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pluginBundlePlugins } from '../plugin/bundling.js';
import { bundle } from './bundle.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

const ENTRY_POINTS = {
  'kubectl-etcd': 'plugin/main.ts',
  'kubectl_complete-etcd': 'plugin/complete-main.ts',
  'etcd-operator': 'operator/main.ts',
};

await Promise.all(
  Object.entries(ENTRY_POINTS).map(([name, entry]) =>
    bundle(join(root, entry), join(root, 'bin', name), name === 'kubectl-etcd' ? pluginBundlePlugins() : []),
  ),
);
// The executables have no extension, so node asks the nearest package.json what they are.
writeFileSync(join(root, 'bin', 'package.json'), '{ "type": "commonjs" }\n');

execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
  {
    stdio: 'inherit',
  },
);
// tsc emits TypeScript only; the generated validators are JavaScript with declarations beside them.
for (const file of ['validators.js', 'validators.d.ts']) {
  copyFileSync(join(root, 'generated', file), join(root, 'dist', 'generated', file));
}
console.log(`built bin/kubectl-etcd, bin/etcd-operator and dist/ (version ${pkg.version})`);
