/**
 * npm run package:krew: the krew release of `kubectl etcd`, from what `npm run build` put in bin/.
 *
 *   node --import tsx hack/krew-package.ts [--uri-base URL] [--bin DIR] [--out DIR]
 *
 * writes <out>/kubectl-etcd-v<version>.tar.gz (kubectl-etcd, kubectl_complete-etcd, their
 * package.json and LICENSE) and <out>/etcd.yaml, krew/etcd.yaml filled with the version of
 * package.json, <uri-base><archive> and the archive's sha256. The archive is reproducible (sorted
 * entries, fixed mtime, normalised modes, no owners), so a rebuild of the same release publishes the
 * same sha256. The default --uri-base is the project's GitHub release of that version.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { create } from 'tar';
import { parse } from 'yaml';
import { EtcdOperatorError, NotFoundError, UsageError } from '../lib/errors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPOSITORY = 'https://github.com/etcd-k8s-operator/etcd-k8s-operator';
export const MANIFEST_TEMPLATE = join(root, 'krew/etcd.yaml');

/** What the archive holds, by name (sorted: tar keeps the order it is given), and each file's mode. */
const EXECUTABLES = ['kubectl-etcd', 'kubectl_complete-etcd'];
export const ARCHIVE_FILES = ['LICENSE', ...EXECUTABLES, 'package.json'].sort();
/** Any fixed time does; the epoch says plainly that it is not a build time. */
const MTIME = new Date(0);

export interface KrewPackageOptions {
  /** Where `npm run build` put kubectl-etcd, kubectl_complete-etcd and their package.json. */
  binDir: string;
  /** Where the archive and etcd.yaml are written (created if missing). */
  outDir: string;
  /** The release, as package.json says it (without the `v`). */
  version: string;
  /** The URL the archive will be downloaded from, less its file name. */
  uriBase?: string;
}

export interface KrewPackage {
  archive: string;
  manifest: string;
  uri: string;
  sha256: string;
  bytes: number;
}

export interface ManifestValues {
  /** krew's form, with the `v`: v0.1.0. */
  version: string;
  uri: string;
  sha256: string;
}

export const archiveName = (version: string) => `kubectl-etcd-v${version}.tar.gz`;
export const defaultUriBase = (version: string) => `${REPOSITORY}/releases/download/v${version}/`;

/** Writes the archive and the manifest; refuses a bundle that does not report `version`. */
export async function packageKrew(options: KrewPackageOptions): Promise<KrewPackage> {
  const { binDir, outDir, version } = options;
  const uri = archiveUri(options.uriBase ?? defaultUriBase(version), archiveName(version));
  assertBundleVersion(binDir, version);
  mkdirSync(outDir, { recursive: true });
  const archive = join(outDir, archiveName(version));
  await writeArchive(binDir, archive);
  const bytes = readFileSync(archive);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const manifest = join(outDir, 'etcd.yaml');
  writeFileSync(
    manifest,
    renderManifest(readFileSync(MANIFEST_TEMPLATE, 'utf8'), { version: `v${version}`, uri, sha256 }),
  );
  return { archive, manifest, uri, sha256, bytes: bytes.length };
}

/**
 * krew/etcd.yaml with its placeholders filled and without its leading comment (which is about the
 * template); throws when a value does not survive as YAML.
 */
export function renderManifest(template: string, values: ManifestValues): string {
  let rendered = template.replace(/^(#.*\n)+/, '');
  for (const key of ['version', 'uri', 'sha256'] as const) {
    const placeholder = `{{${key}}}`;
    if (!rendered.includes(placeholder))
      throw new EtcdOperatorError(`the manifest template lacks ${placeholder}`);
    rendered = rendered.replaceAll(placeholder, values[key]);
  }
  // The values go in as text: read them back, so that a quote in a URL cannot change the manifest.
  const refused = `cannot write ${JSON.stringify(values)} into the krew manifest`;
  let spec: { version: unknown; platforms: Record<string, unknown>[] };
  try {
    spec = (parse(rendered) as { spec: typeof spec }).spec;
  } catch (err) {
    throw new UsageError(refused, { cause: err });
  }
  const survived =
    spec.version === values.version &&
    spec.platforms.every((p) => p.uri === values.uri && p.sha256 === values.sha256);
  if (!survived) throw new UsageError(refused);
  return rendered;
}

function archiveUri(base: string, name: string): string {
  let url: URL;
  try {
    url = new URL(name, base.endsWith('/') ? base : `${base}/`);
  } catch (err) {
    throw new UsageError(`--uri-base ${base} is not a URL`, { cause: err });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError(`--uri-base ${base}: krew downloads over http(s) only`);
  return url.href;
}

/** The version is inlined into the bundle at build time: a stale bin/ would ship the wrong one. */
function assertBundleVersion(binDir: string, version: string): void {
  let reported: string;
  try {
    reported = execFileSync(process.execPath, [join(binDir, 'kubectl-etcd'), '--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (err) {
    throw new NotFoundError(`no working kubectl-etcd in ${binDir}: run npm run build`, { cause: err });
  }
  if (reported !== version)
    throw new EtcdOperatorError(
      `${join(binDir, 'kubectl-etcd')} reports ${reported}, package.json ${version}: run npm run build`,
    );
}

/** A flat tar.gz of ARCHIVE_FILES, the same bytes for the same inputs whatever their mtimes and owners. */
async function writeArchive(binDir: string, archive: string): Promise<void> {
  const staging = mkdtempSync(join(tmpdir(), 'krew-package-'));
  try {
    for (const name of ARCHIVE_FILES) {
      const target = join(staging, name);
      try {
        copyFileSync(name === 'LICENSE' ? join(root, name) : join(binDir, name), target);
      } catch (err) {
        throw new NotFoundError(`cannot put ${name} into the krew archive: run npm run build`, {
          cause: err,
        });
      }
      chmodSync(target, EXECUTABLES.includes(name) ? 0o755 : 0o644);
    }
    // portable: no uid/gid/user names, modes without group/other write bits; noPax: plain ustar.
    await create(
      { file: archive, cwd: staging, gzip: true, portable: true, noPax: true, mtime: MTIME },
      ARCHIVE_FILES,
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'uri-base': { type: 'string' },
      bin: { type: 'string', default: join(root, 'bin') },
      out: { type: 'string', default: join(root, 'dist/krew') },
    },
  });
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const built = await packageKrew({
    binDir: values.bin,
    outDir: values.out,
    version,
    ...(values['uri-base'] === undefined ? {} : { uriBase: values['uri-base'] }),
  });
  const shown = (path: string) => {
    const near = relative(process.cwd(), path);
    return near.startsWith('..') ? path : near;
  };
  console.log(`${shown(built.archive)}: ${built.bytes} bytes, sha256 ${built.sha256}`);
  console.log(`${shown(built.manifest)}: ${built.uri}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main().catch((err: unknown) => {
    console.error(`krew-package: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
