/**
 * `kubectl etcd` as krew installs it: the release archive and manifest of hack/krew-package.ts,
 * checked by krew's own validate-krew-manifest and installed, run and removed by the real krew
 * (hack/kube-binaries.sh --only krew), with nothing from the network.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { list, type ReadEntry } from 'tar';
import {
  ARCHIVE_FILES,
  MANIFEST_TEMPLATE,
  archiveName,
  defaultUriBase,
  packageKrew,
  renderManifest,
  type KrewPackage,
} from '../../hack/krew-package.js';
import { VERSION } from '../../lib/version.js';
import { findKubeBinary } from '../../sandbox/real/binaries.js';
import { buildPlugin } from '../helpers/plugin.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

function tempDir(t: Teardown, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** krew as kubectl finds it: `kubectl-krew` on PATH, a KREW_ROOT and a HOME of the test's own. */
function krewEnvironment(t: Teardown) {
  // A missing krew fails here, saying how to build it (hack/kube-binaries.sh --only krew).
  const krew = findKubeBinary('krew');
  const validator = findKubeBinary('validate-krew-manifest').path;
  const dir = tempDir(t, 'krew-test-');
  const tools = join(dir, 'tools');
  mkdirSync(tools);
  mkdirSync(join(dir, 'home'));
  symlinkSync(krew.path, join(tools, 'kubectl-krew'));
  const root = join(dir, 'root');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(root, 'bin')}:${tools}:${process.env.PATH ?? ''}`,
    HOME: join(dir, 'home'),
    KUBECACHEDIR: join(dir, 'kube-cache'),
    KREW_ROOT: root,
    KREW_NO_UPGRADE_CHECK: '1',
  };
  return {
    root,
    env,
    validator,
    kubectl: (...args: string[]) => run('kubectl', args, env),
    installed: () =>
      existsSync(join(root, 'bin/kubectl-etcd')) || existsSync(join(root, 'receipts/etcd.yaml')),
  };
}

/** What tar says each entry of `archive` is. */
async function entries(archive: string): Promise<{ path: string; mode: number; mtime: number }[]> {
  const seen: { path: string; mode: number; mtime: number }[] = [];
  await list({
    file: archive,
    onReadEntry: (e: ReadEntry) =>
      seen.push({ path: e.path, mode: e.mode ?? -1, mtime: e.mtime?.getTime() ?? -1 }),
  });
  return seen;
}

const bin = await buildPlugin(t);
const release = (t: Teardown, uriBase?: string): Promise<KrewPackage> =>
  packageKrew({
    binDir: bin,
    outDir: tempDir(t, 'krew-release-'),
    version: VERSION,
    ...(uriBase ? { uriBase } : {}),
  });

t.test("the archive is reproducible: same bundle, same bytes, whatever the files' mtimes", async (t) => {
  const first = await release(t);
  const later = new Date(Date.now() + 86_400_000);
  for (const name of ['kubectl-etcd', 'kubectl_complete-etcd', 'package.json'])
    utimesSync(join(bin, name), later, later);
  const second = await release(t);

  t.equal(second.sha256, first.sha256, 'same sha256');
  t.ok(readFileSync(second.archive).equals(readFileSync(first.archive)), 'same bytes');
  t.ok(first.archive.endsWith(`/${archiveName(VERSION)}`), 'named after the version');
  t.strictSame(
    await entries(first.archive),
    ARCHIVE_FILES.map((path) => ({
      path,
      mode: path.startsWith('kubectl') ? 0o755 : 0o644,
      mtime: 0,
    })),
    'flat, sorted, fixed modes and mtime',
  );
  t.equal(first.uri, `${defaultUriBase(VERSION)}${archiveName(VERSION)}`, 'the GitHub release by default');
  t.comment(`${archiveName(VERSION)}: ${first.bytes} bytes, sha256 ${first.sha256}`);
});

t.test('validate-krew-manifest accepts the manifest and installs every platform from its URI', async (t) => {
  const krew = krewEnvironment(t);
  const published = await release(t);
  const released = await run(krew.validator, ['-manifest', published.manifest, '-skip-install'], krew.env);
  t.equal(released.code, 0, 'the GitHub release manifest is valid', { stderr: released.stderr });

  // The same archive served on loopback stands for the release download.
  const server = createServer((req, res) => {
    if (req.url !== `/v${VERSION}/${archiveName(VERSION)}`) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/gzip' }).end(readFileSync(published.archive));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const served = await release(t, `http://127.0.0.1:${port}/v${VERSION}/`);
  t.equal(served.sha256, published.sha256, 'the same archive');

  const validated = await run(krew.validator, ['-manifest', served.manifest], krew.env);
  t.equal(validated.code, 0, 'the manifest served on loopback is valid', { stderr: validated.stderr });
  t.match(validated.stderr, /all 4 spec\.platforms installed fine/);
});

t.test(
  'krew installs kubectl etcd from the manifest and archive, kubectl runs it, krew removes it',
  async (t) => {
    const krew = krewEnvironment(t);
    const { manifest, archive } = await release(t);

    const install = await krew.kubectl('krew', 'install', `--manifest=${manifest}`, `--archive=${archive}`);
    t.equal(install.code, 0, 'krew install succeeds', { stderr: install.stderr });
    t.match(install.stderr, 'Installed plugin: etcd');
    t.match(install.stderr, 'Node.js >= 20.19', 'the caveats are shown');

    const version = await krew.kubectl('etcd', 'version', '--client');
    t.strictSame(version, { code: 0, stdout: `Client Version: ${VERSION}\n`, stderr: '' });

    // The caveats' command makes completion work: kubectl runs kubectl_complete-etcd from PATH.
    const link = /^[ |]*(ln -sf .*kubectl_complete-etcd.*)$/m.exec(install.stderr)?.[1];
    t.ok(link, 'the caveats say how to link the completion shim');
    t.equal((await run('sh', ['-c', link ?? 'false'], krew.env)).code, 0, 'that command runs');
    const completion = await krew.kubectl('__complete', 'etcd', '');
    t.match(completion.stdout, /^status\t/m, 'kubectl etcd <TAB> lists the commands');

    // krew's uninstall insists on a cloned index (index/*/.git); offline, an empty local one does.
    t.equal(
      (await run('git', ['init', '-q', join(krew.root, 'index/default')], krew.env)).code,
      0,
      'git init',
    );
    const uninstall = await krew.kubectl('krew', 'uninstall', 'etcd');
    t.equal(uninstall.code, 0, 'krew uninstall succeeds', { stderr: uninstall.stderr });
    t.notOk(krew.installed(), 'no link, no receipt');
    t.notOk(existsSync(join(krew.root, 'store/etcd')), 'no files');
  },
);

t.test("krew refuses an archive whose sha256 is not the manifest's", async (t) => {
  const krew = krewEnvironment(t);
  const { archive, uri, manifest, sha256: right } = await release(t);
  const wrong = join(tempDir(t, 'krew-wrong-'), 'etcd.yaml');
  const sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'; // of nothing
  writeFileSync(
    wrong,
    renderManifest(readFileSync(MANIFEST_TEMPLATE, 'utf8'), { version: `v${VERSION}`, uri, sha256 }),
  );
  t.equal(
    readFileSync(wrong, 'utf8'),
    readFileSync(manifest, 'utf8').replaceAll(right, sha256),
    'only the sha256 differs',
  );

  const install = await krew.kubectl('krew', 'install', `--manifest=${wrong}`, `--archive=${archive}`);
  t.not(install.code, 0, 'install fails');
  t.match(install.stderr, /checksum does not match/, 'krew says why');
  t.notOk(krew.installed(), 'nothing installed');
});

t.test('a URI that would not read back as written is refused, not written into the manifest', async (t) => {
  const template = readFileSync(MANIFEST_TEMPLATE, 'utf8');
  const values = { version: `v${VERSION}`, sha256: 'a'.repeat(64) };
  t.match(renderManifest(template, { ...values, uri: 'https://example.test/a.tar.gz' }), /^apiVersion: /);
  t.throws(() => renderManifest(template, { ...values, uri: "https://example.test/it's.tar.gz" }), {
    name: 'UsageError',
  });
});
