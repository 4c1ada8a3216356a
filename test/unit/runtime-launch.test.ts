import t from 'tap';
import {
  launchCommand,
  quote,
  type FsView,
  type LaunchSpec,
  type Tools,
} from '../../sandbox/runtime/launch.js';

const tools: Tools = {
  nsenter: '/bin/nsenter',
  unshare: '/bin/unshare',
  sh: '/bin/sh',
  mount: '/bin/mount',
  mkdir: '/bin/mkdir',
  touch: '/bin/touch',
  ln: '/bin/ln',
  hostname: '/bin/hostname',
};
// The machine: /etc, /var/lib, /usr/local/bin exist; /etc/hosts and /etc/resolv.conf are files.
const dirs = new Set(['/', '/etc', '/var', '/var/lib', '/usr', '/usr/local', '/usr/local/bin', '/tmp']);
const files = new Set(['/etc/hosts', '/etc/resolv.conf']);
const fs: FsView = {
  kind: (p) => (dirs.has(p) ? 'dir' : files.has(p) ? 'file' : undefined),
  realpath: (p) => p,
  rootEntries: () => [
    { name: 'etc', kind: 'dir' },
    { name: 'bin', kind: 'symlink', target: 'usr/bin' },
  ],
};
const spec: LaunchSpec = {
  netnsPath: '/run/netns/esb1-2',
  userNamespace: false,
  rootDir: '/state/root',
  scratchDir: '/state/scratch',
  hostname: 'etcd-0',
  hostsFile: '/etc/netns/esb1-2/hosts',
  resolvConf: '/state/resolv.conf',
  bin: { etcd: '/cache/etcd' },
  mounts: [
    { source: '/claims/data', target: '/var/lib/etcd', readOnly: false, file: false },
    { source: '/vol/peer', target: '/etc/etcd/pki/peer', readOnly: true, file: false },
    { source: '/vol/server', target: '/etc/etcd/pki/server', readOnly: true, file: false },
  ],
  workingDir: '/',
  argv: ['etcd', "--name=it's"],
};

t.test('the container starts in the pod netns, in mount and UTS namespaces of its own', async (t) => {
  const { file, args } = launchCommand(spec, tools, fs);
  t.equal(file, '/bin/nsenter');
  t.same(args.slice(0, 9), [
    '--net=/run/netns/esb1-2',
    '--',
    '/bin/unshare',
    '--mount',
    '--uts',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
  ]);
  t.same(args.slice(-3), ['container', 'etcd', "--name=it's"], 'argv reaches the script as "$@", unquoted');
  const loopback = launchCommand({ ...spec, netnsPath: undefined, userNamespace: true }, tools, fs);
  t.equal(loopback.file, '/bin/unshare', 'no netns in loopback mode');
  t.same(loopback.args.slice(0, 3), ['--user', '--map-root-user', '--mount']);
});

t.test('the setup script builds the root without touching the machine', async (t) => {
  const script = launchCommand(spec, tools, fs).args[10] ?? '';
  const lines = script.split('\n');
  t.ok(lines.includes(`'/bin/mount' '--rbind' '/etc' '/state/root/etc'`), 'top-level dirs are bound');
  t.ok(lines.includes(`'/bin/ln' '-s' 'usr/bin' '/state/root/bin'`), 'top-level symlinks copied');
  t.ok(
    lines.includes(`'/bin/mount' '--bind' '/etc/netns/esb1-2/hosts' '/state/root/etc/hosts'`),
    'hosts file',
  );
  t.ok(
    lines.includes(`'/bin/mount' '--bind' '/state/resolv.conf' '/state/root/etc/resolv.conf'`),
    'resolv.conf',
  );
  t.ok(
    lines.includes(`'/bin/mount' '--bind' '/cache/etcd' '/state/root/usr/local/bin/etcd'`),
    'image binaries on PATH',
  );
  const overlays = lines.filter((l) => l.includes("'overlay'"));
  t.equal(overlays.length, 2, 'one overlay per missing mount point ancestor: /var/lib and /etc');
  t.match(overlays[0], /lowerdir=\/state\/root\/etc,upperdir=\/state\/scratch\/o0\/upper/);
  t.match(overlays[1], /lowerdir=\/state\/root\/var\/lib,/);
  const lastOverlay = lines.lastIndexOf(overlays[1] ?? '');
  const firstBind = lines.findIndex((l) => l.includes("'--bind' '/claims/data'"));
  const hosts = lines.findIndex((l) => l.includes("'/state/root/etc/hosts'"));
  t.ok(
    lastOverlay < firstBind && firstBind < hosts,
    'overlays, then volumes, then /etc/hosts: none hides another',
  );
  t.notOk(
    lines.some((l) => /mkdir' '-p' '\/(var|etc)/.test(l)),
    'no mkdir outside the container root',
  );
  const pki = lines.findIndex((l) => l.includes(`'/state/root/etc/etcd/pki/server'`) && l.includes('mkdir'));
  t.ok(pki > 0, 'the second pki dir is made in the existing overlay');
  t.equal(lines.filter((l) => l.includes("'remount,bind,ro'")).length, 2, 'read-only mounts');
  t.equal(lines.at(-1), `exec '/bin/unshare' '--root=/state/root' '--wd=/' '--' "$@"`);
});

t.test(
  'one overlay for the topmost missing ancestor; mount points inside volumes are made in them',
  async (t) => {
    const withOpt: FsView = { ...fs, kind: (p) => (p === '/opt' || p === '/opt/a' ? 'dir' : fs.kind(p)) };
    const mounts = [
      { source: '/v1', target: '/opt/a/x', readOnly: false, file: false },
      { source: '/v2', target: '/opt/b/y', readOnly: false, file: false },
      { source: '/v3', target: '/opt/b/y/nested', readOnly: false, file: false },
    ];
    const lines = (launchCommand({ ...spec, bin: {}, mounts }, tools, withOpt).args[10] ?? '').split('\n');
    const overlays = lines.filter((l) => l.includes("'overlay'"));
    t.equal(overlays.length, 1);
    t.match(overlays[0], /lowerdir=\/state\/root\/opt,/);
    const bindY = lines.findIndex((l) => l.includes("'/v2' '/state/root/opt/b/y'"));
    const mkNested = lines.findIndex(
      (l) =>
        l.includes("'mkdir' '-p' '/state/root/opt/b/y/nested'") ||
        (l.endsWith("'/state/root/opt/b/y/nested'") && l.includes('mkdir')),
    );
    t.ok(bindY >= 0 && mkNested > bindY, 'the nested mount point is made after its volume is bound');
  },
);

t.test('shell quoting', async (t) => {
  t.equal(quote("it's"), `'it'\\''s'`);
  t.equal(quote('$(x) `y`'), `'$(x) \`y\`'`);
});
