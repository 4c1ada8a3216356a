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
const TEXT_WIDTH = join(root, 'plugin/text-width.ts');
/** Evaluated by the bundle at run time. */
const CACHE_DIR =
  "path.join(process.env.KUBECACHEDIR || path.join(require('node:os').homedir(), '.kube', 'cache'), 'kubectl-etcd')";

/** The esbuild plugins bin/kubectl-etcd is bundled with. */
export function pluginBundlePlugins(): Plugin[] {
  return [lightTextWidth(), lazyCore()];
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

/** Dynamic imports of plugin/core.ts load it from the source carried in the bundle. */
function lazyCore(): Plugin {
  return {
    name: 'lazy-core',
    setup(b) {
      b.onResolve({ filter: importsOf(CORE) }, (args) =>
        args.kind === 'dynamic-import' && asTs(args.resolveDir, args.path) === CORE
          ? { path: CORE, namespace: 'lazy-core' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy-core' }, async () => {
        const inner = await build({
          ...BUILD_OPTIONS,
          entryPoints: [CORE],
          write: false,
          outfile: 'core.js',
          plugins: [...standardPlugins(), lightTextWidth(), ...SHARED.map(sharedWithEntry)],
        });
        const source = inner.outputFiles[0]!.text;
        const cacheName = `${createHash('sha256').update(source).digest('hex').slice(0, 16)}.v8`;
        return { resolveDir: dirname(CORE), loader: 'js', contents: loader(source, cacheName) };
      });
    },
  };
}

/** The core's imports of the i-th shared module become `require('shared:<i>')`, which the loader answers. */
function sharedWithEntry(file: string, i: number): Plugin {
  return {
    name: 'shared-with-entry',
    setup(b) {
      b.onResolve({ filter: importsOf(file) }, (args) =>
        asTs(args.resolveDir, args.path) === file ? { path: `shared:${i}`, external: true } : undefined,
      );
    },
  };
}

/** The module standing for plugin/core.ts in the bundle: compiles the source, with the code cache. */
function loader(source: string, cacheName: string): string {
  const shared = SHARED.map((file, i) => `'shared:${i}': require(${JSON.stringify(file)})`);
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
