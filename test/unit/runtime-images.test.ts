import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { NotFoundError } from '../../lib/errors.js';
import {
  etcdImages,
  hostImages,
  parseImage,
  projectImages,
  resolveImage,
} from '../../sandbox/runtime/images.js';

t.test('image references', async (t) => {
  t.same(parseImage('quay.io/coreos/etcd:v3.5.9'), {
    repository: 'quay.io/coreos/etcd',
    name: 'etcd',
    tag: 'v3.5.9',
  });
  t.same(parseImage('localhost:5000/etcd'), {
    repository: 'localhost:5000/etcd',
    name: 'etcd',
    tag: 'latest',
  });
  t.same(parseImage('etcd:3.5.9-0@sha256:abc'), { repository: 'etcd', name: 'etcd', tag: '3.5.9-0' });
});

t.test('etcd images map to the cached etcd of their minor, saying when the patch differs', async (t) => {
  const cache = t.testdir({
    etcd: { 'versions.json': JSON.stringify({ '3.5': '3.5.35', '3.4': '3.4.23' }) },
  });
  for (const v of ['v3.5.35', 'v3.4.23']) {
    const dir = join(cache, 'etcd', v);
    mkdirSync(dir, { recursive: true });
    for (const b of ['etcd', 'etcdctl', ...(v.startsWith('v3.5') ? ['etcdutl'] : [])])
      writeFileSync(join(dir, b), '');
  }
  const rule = etcdImages(cache);
  const exact = rule('gcr.io/etcd-development/etcd:v3.5.35');
  t.equal(exact?.bin.etcd, join(cache, 'etcd', 'v3.5.35', 'etcd'));
  t.ok(exact?.bin.etcdutl, 'etcdutl on PATH');
  t.equal(exact?.substituted, undefined);
  t.same(rule('quay.io/coreos/etcd:v3.5.9')?.substituted, { asked: '3.5.9', used: '3.5.35' });
  t.same(rule('registry.k8s.io/etcd:3.4.13-0')?.substituted, { asked: '3.4.13', used: '3.4.23' });
  t.equal(rule('quay.io/coreos/etcd:v3.4.23')?.bin.etcdutl, undefined, '3.4 has no etcdutl');
  t.same(rule('quay.io/coreos/etcd:v3.5.9')?.cmd, ['/usr/local/bin/etcd']);
  t.equal(rule('busybox:1.36'), undefined);
  t.throws(() => rule('quay.io/coreos/etcd:v3.7.0'), NotFoundError, 'a minor not in the cache');
});

t.test('the image map: first rule wins; unknown images are NotFound', async (t) => {
  const rules = [projectImages('/repo/', '/usr/bin/node', '/nonexistent'), hostImages({ busybox: ['sh'] })];
  t.same(resolveImage(rules, 'ghcr.io/x/etcd-k8s-operator:0.1.0').bin, {
    'etcd-operator': '/repo/bin/etcd-operator',
    'kubectl-etcd': '/repo/bin/kubectl-etcd',
    node: '/usr/bin/node',
  });
  const withTools = projectImages('/repo/', '/usr/bin/node')('ghcr.io/x/etcd-k8s-operator:0.1.0')?.bin ?? {};
  t.match(
    withTools,
    {
      'etcd-3.5': /\/etcd$/,
      'etcdutl-3.5': /\/etcdutl$/,
      'etcdutl-3.6': /\/etcdutl$/,
      'etcdctl-3.4': /\/etcdctl$/,
    },
    'the project image carries the etcd tools of every cached minor, named by minor',
  );
  t.equal(withTools['etcdutl-3.4'], undefined, '3.4 has no etcdutl');
  t.same(resolveImage(rules, 'docker.io/library/busybox:1.36'), { bin: {}, entrypoint: [], cmd: ['sh'] });
  t.throws(() => resolveImage(rules, 'nginx'), NotFoundError);
});
