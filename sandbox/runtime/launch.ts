/**
 * The command line that starts a container: into the pod's network namespace (nsenter), into a new
 * mount and UTS namespace of its own (unshare), where a small shell script builds the container's
 * root: a tmpfs whose top-level entries are bind mounts of the machine's own, with a private /tmp,
 * the pod's hosts file over /etc/hosts, the image's executables in /usr/local/bin and each volume at
 * its mountPath; then `unshare --root` enters that root and execs the container's command.
 *
 * A mount point that does not exist on the machine (e.g. /var/lib/etcd) is never created there: its
 * nearest existing ancestor gets a private overlayfs inside the container's mount namespace (upper
 * layer on a tmpfs), and the directory is made in that overlay. Overlays come first, binds after,
 * and /etc/hosts and /etc/resolv.conf last, since an overlay hides whatever is mounted beneath it. Everything the script mounts vanishes
 * with the container's last process. The script writes to fd 3 once the root is ready, just before
 * the container's command replaces it. Pure: the machine's file system is read through `fs`.
 */
import { posix } from 'node:path';

export interface Tools {
  nsenter: string;
  unshare: string;
  sh: string;
  mount: string;
  mkdir: string;
  touch: string;
  ln: string;
  hostname: string;
}

export interface Mount {
  source: string;
  /** The absolute mountPath inside the container. */
  target: string;
  readOnly: boolean;
  /** A file (subPath of a file) rather than a directory. */
  file: boolean;
}

export interface LaunchSpec {
  /** The pod's /run/netns path; absent in loopback mode (the machine's own network). */
  netnsPath?: string;
  /** Not root: a user namespace (mapped to root) makes the mounts possible. */
  userNamespace: boolean;
  /** Empty directories on the machine: the container's root and the overlays' scratch space. */
  rootDir: string;
  scratchDir: string;
  hostname: string;
  hostsFile: string;
  /** Mounted over /etc/resolv.conf: there is no cluster DNS server, so lookups must fail fast. */
  resolvConf: string;
  /** Executables of the image, placed in /usr/local/bin. */
  bin: Record<string, string>;
  mounts: readonly Mount[];
  workingDir: string;
  argv: readonly string[];
}

export interface FsView {
  /** What is at `path` on the machine, following symlinks. */
  kind(path: string): 'dir' | 'file' | undefined;
  realpath(path: string): string;
  /** The entries of `/`: name and kind (symlinks with their target). */
  rootEntries(): { name: string; kind: 'dir' | 'file' | 'symlink'; target?: string }[];
}

export function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The program and arguments to spawn (the container's env is passed to it as the process env). */
export function launchCommand(spec: LaunchSpec, tools: Tools, fs: FsView): { file: string; args: string[] } {
  const script = setupScript(spec, tools, fs);
  const unshare = [
    tools.unshare,
    ...(spec.userNamespace ? ['--user', '--map-root-user'] : []),
    '--mount',
    '--uts',
    '--propagation',
    'private',
    '--',
    tools.sh,
    '-c',
    script,
    'container',
    ...spec.argv,
  ];
  if (spec.netnsPath === undefined) return { file: unshare[0] ?? tools.unshare, args: unshare.slice(1) };
  return { file: tools.nsenter, args: [`--net=${spec.netnsPath}`, '--', ...unshare] };
}

function setupScript(spec: LaunchSpec, tools: Tools, fs: FsView): string {
  const R = spec.rootDir;
  const lines: string[] = ['set -e'];
  const sh = (...words: string[]) => lines.push(words.map(quote).join(' '));
  const inRoot = (p: string) => posix.join(R, p);

  sh(tools.mount, '-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', R);
  for (const e of fs.rootEntries()) {
    const target = inRoot(e.name);
    if (e.kind === 'symlink') sh(tools.ln, '-s', e.target ?? '', target);
    else if (e.kind === 'dir') {
      sh(tools.mkdir, target);
      sh(tools.mount, '--rbind', `/${e.name}`, target);
    } else {
      sh(tools.touch, target);
      sh(tools.mount, '--bind', `/${e.name}`, target);
    }
  }
  sh(tools.mount, '-t', 'tmpfs', '-o', 'mode=1777', 'tmpfs', inRoot('/tmp'));
  sh(tools.mount, '-t', 'tmpfs', 'tmpfs', spec.scratchDir);
  sh(tools.hostname, spec.hostname);

  const mounts = [...spec.mounts].sort((a, b) => depth(a.target) - depth(b.target));
  const nestedInVolume = (path: string) => mounts.some((m) => path !== m.target && isUnder(path, m.target));
  const bins = Object.entries(spec.bin);
  const needed: { path: string; kind: 'dir' | 'file' }[] = [
    ...(bins.length > 0 ? [{ path: '/usr/local/bin', kind: 'dir' as const }] : []),
    ...mounts.map((m) => ({ path: m.target, kind: m.file ? ('file' as const) : ('dir' as const) })),
    { path: spec.workingDir, kind: 'dir' },
  ];
  const create = (path: string, kind: 'dir' | 'file') => {
    sh(tools.mkdir, '-p', inRoot(kind === 'dir' ? path : posix.dirname(path)));
    if (kind === 'file') sh(tools.touch, inRoot(path));
  };

  // 1. Missing mount points outside volumes: one overlay per topmost missing ancestor, made before
  // any bind (an overlay hides the mounts beneath it), then the directories in them.
  const missing = needed.filter(
    (n) => !nestedInVolume(n.path) && !isUnder(n.path, '/tmp') && !fs.kind(n.path),
  );
  const roots = new Set<string>();
  for (const { path } of missing) {
    let ancestor = posix.dirname(path);
    while (ancestor !== '/' && fs.kind(ancestor) === undefined) ancestor = posix.dirname(ancestor);
    if (ancestor !== '/') roots.add(fs.realpath(ancestor));
  }
  const topmost = [...roots].filter((r) => ![...roots].some((o) => o !== r && isUnder(r, o))).sort();
  for (const [i, root] of topmost.entries()) {
    const upper = posix.join(spec.scratchDir, `o${i}`, 'upper');
    const work = posix.join(spec.scratchDir, `o${i}`, 'work');
    sh(tools.mkdir, '-p', upper, work);
    sh(
      tools.mount,
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${inRoot(root)},upperdir=${upper},workdir=${work}`,
      inRoot(root),
    );
  }
  for (const { path, kind } of needed) {
    if (!nestedInVolume(path) && (isUnder(path, '/tmp') || !fs.kind(path))) create(path, kind);
  }

  // 2. The image's executables and the volumes (a mount point inside a volume is made in it).
  if (bins.length > 0) {
    sh(tools.mount, '-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', inRoot('/usr/local/bin'));
    for (const [name, source] of bins) {
      sh(tools.touch, inRoot(`/usr/local/bin/${name}`));
      sh(tools.mount, '--bind', source, inRoot(`/usr/local/bin/${name}`));
    }
  }
  for (const m of mounts) {
    if (nestedInVolume(m.target)) create(m.target, m.file ? 'file' : 'dir');
    sh(tools.mount, '--bind', m.source, inRoot(m.target));
    if (m.readOnly) sh(tools.mount, '-o', 'remount,bind,ro', inRoot(m.target));
  }
  if (nestedInVolume(spec.workingDir)) create(spec.workingDir, 'dir');

  // 3. Last, so that no overlay hides them; through symlinks, since a mount on a symlink would land
  // on its target outside the container root.
  for (const [source, path] of [
    [spec.hostsFile, '/etc/hosts'],
    [spec.resolvConf, '/etc/resolv.conf'],
  ] as const) {
    if (fs.kind(path) === 'file') sh(tools.mount, '--bind', source, inRoot(fs.realpath(path)));
  }
  // Tell the runtime the container is set up (fd 3), and keep that fd from the container.
  lines.push('printf up >&3', 'exec 3>&-');
  lines.push(
    `exec ${[tools.unshare, `--root=${R}`, `--wd=${spec.workingDir}`, '--'].map(quote).join(' ')} "$@"`,
  );
  return lines.join('\n');
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

function depth(path: string): number {
  return path.split('/').filter(Boolean).length;
}
