import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { bundle } from '../../hack/bundle.js';
import { VERSION } from '../../lib/version.js';
import { startEtcd } from '../helpers/etcd.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

t.test('the bundled kubectl-etcd answers --help and --version from any directory', async (t) => {
  const dir = t.testdir({ 'package.json': '{ "type": "commonjs" }', elsewhere: {} });
  const bin = join(dir, 'kubectl-etcd');
  await bundle(join(root, 'plugin/main.ts'), bin);
  const run = (...args: string[]) => spawnSync(bin, args, { cwd: join(dir, 'elsewhere'), encoding: 'utf8' });

  const help = run('--help');
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /^kubectl etcd <command> \[options\]/);
  t.match(help.stdout, /kubectl etcd version/);

  const version = run('--version');
  t.equal(version.status, 0);
  t.equal(version.stdout.trim(), VERSION);

  const unknown = run('frobnicate');
  t.equal(unknown.status, 3, 'a usage error exits 3');
  t.equal(unknown.stderr, 'error: Unknown argument: frobnicate\n', 'one line on stderr, no stack trace');
});

t.test('a bundle that uses etcd3 talks to a real etcd without the .proto files on disk', async (t) => {
  const etcd = await startEtcd(t);
  const dir = t.testdir({ 'package.json': '{ "type": "commonjs" }' });
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { Etcd3 } from ${JSON.stringify(join(root, 'node_modules/etcd3/lib/index.js'))};
     const client = new Etcd3({ hosts: process.argv[2] });
     void (async () => {
       await client.put('greeting').value('hello');
       process.stdout.write(await client.get('greeting').string() ?? 'missing');
       client.close();
     })();`,
  );
  await bundle(entry, join(dir, 'etcd-smoke'));
  // Copied out of the repository, away from any node_modules: only what the bundle carries exists.
  const away = mkdtempSync(join(tmpdir(), 'bundle-'));
  t.teardown(() => rmSync(away, { recursive: true, force: true }));
  const bin = join(away, 'etcd-smoke.cjs');
  copyFileSync(join(dir, 'etcd-smoke'), bin);
  const out = execFileSync(process.execPath, [bin, etcd.clientURL], { cwd: away, encoding: 'utf8' });
  t.equal(out, 'hello');
});
