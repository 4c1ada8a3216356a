/**
 * esbuild settings for the single-file executables: CommonJS (so that they can also become Node
 * single executables), minified, with what a bundle cannot follow made self-contained.
 *
 * etcd3 reads its .proto files from disk when imported (`${__dirname}/../proto/rpc.proto`); the
 * bundle inlines them as a protobuf JSON descriptor instead.
 */
import { chmodSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import type * as Protobuf from 'protobufjs';
const require = createRequire(import.meta.url);
// The descriptor is read by @grpc/proto-loader, so it is made by the protobufjs that loader uses.
const protobuf = createRequire(require.resolve('@grpc/proto-loader'))('protobufjs') as typeof Protobuf;
const LOAD_PROTO = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`,/;

let etcdDescriptor: string | undefined;

function inlineEtcdProtos(): Plugin {
  // keepCase as etcd3's own loadSync: its code reads snake_case fields (header.cluster_id).
  etcdDescriptor ??= JSON.stringify(
    new protobuf.Root()
      .loadSync(join(dirname(require.resolve('etcd3/package.json')), 'proto/rpc.proto'), { keepCase: true })
      .toJSON(),
  );
  const descriptor = etcdDescriptor;
  return {
    name: 'inline-etcd3-protos',
    setup(b) {
      b.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!LOAD_PROTO.test(source))
          throw new Error(`etcd3 no longer loads rpc.proto as expected: ${args.path}`);
        return {
          contents: source.replace(LOAD_PROTO, `(0, proto_loader_1.fromJSON)(${descriptor},`),
          loader: 'js',
        };
      });
    },
  };
}

/** How every bundle is built: CommonJS for Node 20, minified, import.meta.url as this file's URL. */
export const BUILD_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  // ESM dependencies (yargs) call createRequire(import.meta.url); in CommonJS that is this file.
  banner: { js: "const __importMetaUrl = require('url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__importMetaUrl' },
};

/** The plugins every bundle needs to be self-contained. */
export function standardPlugins(): Plugin[] {
  return [inlineEtcdProtos()];
}

/** Bundles `entry` into the executable `outfile`, with `plugins` of its own besides the standard ones. */
export async function bundle(entry: string, outfile: string, plugins: Plugin[] = []): Promise<void> {
  await build({
    ...BUILD_OPTIONS,
    entryPoints: [entry],
    outfile,
    banner: { js: `#!/usr/bin/env node\n${BUILD_OPTIONS.banner!.js}` },
    plugins: [...standardPlugins(), ...plugins],
  });
  chmodSync(outfile, 0o755);
}
