/**
 * How bin/kubectl-etcd is bundled, beyond what every bundle gets (hack/bundle.ts): build-time code,
 * used by hack/build.ts and the tests, never by the plugin at run time. Two things keep its start
 * fast:
 *
 * - plugin/core.ts, the half that reaches clusters (client-node, etcd3, gRPC, yaml: ~1.7 MB), rides
 *   in the bundle as a string and is compiled only when a command first imports it. V8 pre-parses
 *   every function of a script it loads, so carried as code it would cost every `--help`. Its V8
 *   code cache is kept beside kubectl's own cache ($KUBECACHEDIR, else ~/.kube/cache). It uses the
 *   entry's copy of lib/errors.ts, so that exit codes, chosen by `instanceof`, see its errors.
 * - The S3 and GCS stores that the core imports (their SDKs: ~1 MB) ride beside it the same way,
 *   compiled only when a command opens a bucket: carried in the core they cost every status 40 ms
 *   and 10 MB.
 * - `string-width`, which yargs measures help text with, builds an Intl.Segmenter and
 *   Unicode-property regexes as it loads (~40 ms); plugin/text-width.ts stands in for it.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { BUILD_OPTIONS, standardPlugins } from '../hack/bundle.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CORE = join(root, 'plugin/core.ts');
const SHARED = [join(root, 'lib/errors.ts')];
const LAZY_IN_CORE = [join(root, 'lib/backup/s3-store.ts'), join(root, 'lib/backup/gcs-store.ts')];
const TEXT_WIDTH = join(root, 'plugin/text-width.ts');
/** Evaluated by the bundle at run time. */
const CACHE_DIR =
  "path.join(process.env.KUBECACHEDIR || path.join(require('node:os').homedir(), '.kube', 'cache'), 'kubectl-etcd')";

/** The esbuild plugins bin/kubectl-etcd is bundled with. */
export function pluginBundlePlugins(): Plugin[] {
  return [lightTextWidth(), lazyModule(CORE, LAZY_IN_CORE), ...LAZY_IN_CORE.map((f) => lazyModule(f))];
}

function lightTextWidth(): Plugin {
  return {
    name: 'light-text-width',
    setup(b) {
      b.onResolve({ filter: /^string-width$/ }, () => ({ path: TEXT_WIDTH }));
    },
  };
}

const asTs = (dir: string, path: string) => resolve(dir, path.replace(/\.js$/, '.ts'));
const importsOf = (file: string) => new RegExp(`(^|/)${basename(file, '.ts')}\\.js$`);

/**
 * Imports of `file` (dynamic ones, or the require of a loader) load it from its source carried in
 * the bundle, compiled on the first one. It uses the entry's copies of the SHARED modules; its
 * dynamic imports of the `deferred` files ask the entry for them, which carries each the same way.
 */
function lazyModule(file: string, deferred: string[] = []): Plugin {
  const namespace = `lazy-${basename(file, '.ts')}`;
  return {
    name: namespace,
    setup(b) {
      b.onResolve({ filter: importsOf(file) }, (args) =>
        (args.kind === 'dynamic-import' || args.kind === 'require-call') &&
        asTs(args.resolveDir, args.path) === file
          ? { path: file, namespace }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace }, async () => {
        const built = await build({
          ...BUILD_OPTIONS,
          entryPoints: [file],
          write: false,
          outfile: `${basename(file, '.ts')}.js`,
          plugins: [
            ...standardPlugins(),
            lightTextWidth(),
            ...SHARED.map((f, i) => fromEntry(f, `shared:${i}`)),
            ...deferred.map((f, i) => fromEntry(f, `deferred:${i}`)),
          ],
        });
        const source = built.outputFiles[0]!.text;
        const cacheName = `${createHash('sha256').update(source).digest('hex').slice(0, 16)}.v8`;
        return { resolveDir: dirname(file), loader: 'js', contents: loader(source, cacheName, deferred) };
      });
    },
  };
}

/**
 * A lazy module's imports of `file` become `require(id)`, which its loader answers from the entry,
 * through a one-line module: esbuild would keep a dynamic import of an external as `import()`,
 * which a vm.Script cannot run.
 */
function fromEntry(file: string, id: string): Plugin {
  const namespace = `from-entry-${id}`;
  return {
    name: namespace,
    setup(b) {
      b.onResolve({ filter: importsOf(file) }, (args) =>
        asTs(args.resolveDir, args.path) === file ? { path: id, namespace } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace }, () => ({
        contents: `module.exports = require(${JSON.stringify(id)});`,
      }));
      b.onResolve({ filter: new RegExp(`^${id}$`) }, () => ({ path: id, external: true }));
    },
  };
}

/**
 * The module standing for a lazy module in the bundle: compiles the source, with the code cache,
 * and answers its requires of the shared modules and, when first asked, of the deferred ones.
 */
function loader(source: string, cacheName: string, deferred: string[]): string {
  const js = (file: string) => JSON.stringify(file.replace(/\.ts$/, '.js'));
  const shared = [
    ...SHARED.map((file, i) => `'shared:${i}': require(${js(file)})`),
    ...deferred.map((file, i) => `get 'deferred:${i}'() { return require(${js(file)}); }`),
  ];
  return `
const vm = require('node:vm'), fs = require('node:fs'), path = require('node:path');
const shared = { ${shared.join(', ')} };
const source = ${JSON.stringify(source)};
let cacheFile;
try { cacheFile = path.join(${CACHE_DIR}, ${JSON.stringify(cacheName)}); } catch {}
let cachedData;
try { cachedData = cacheFile && fs.readFileSync(cacheFile); } catch {}
const script = new vm.Script(require('node:module').wrap(source), { filename: __filename, cachedData });
if (cacheFile && (!cachedData || script.cachedDataRejected)) {
  process.once('exit', () => {
    const part = cacheFile + '.' + process.pid;
    try { fs.mkdirSync(path.dirname(cacheFile), { recursive: true }); fs.writeFileSync(part, script.createCachedData()); fs.renameSync(part, cacheFile); } catch {}
  });
}
script.runInThisContext()(module.exports, (id) => shared[id] ?? require(id), module, __filename, __dirname);
`;
}
