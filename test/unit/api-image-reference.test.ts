import t from 'tap';
import { parseEtcdCluster } from '../../lib/api/index.js';
import {
  MAX_IMAGE_NAME_LENGTH,
  imageReferenceProblem,
  imageRepositoryProblem,
  parseImageReference,
} from '../../lib/api/image-reference.js';
import { ValidationError } from '../../lib/errors.js';

const sha256 = `sha256:${'f'.repeat(64)}`;
const sha512 = `sha512:${'f'.repeat(128)}`;

// Most cases are TestReferenceParse's, from github.com/distribution/reference's reference_test.go.
t.test('imageReferenceProblem accepts the references distribution/reference parses', async (t) => {
  const cases: [string, { domain: string; path: string; tag?: string; digest?: string }][] = [
    ['quay.io/coreos/etcd:v3.5.9', { domain: 'quay.io', path: 'coreos/etcd', tag: 'v3.5.9' }],
    ['registry.k8s.io/etcd:3.5.15-0', { domain: 'registry.k8s.io', path: 'etcd', tag: '3.5.15-0' }],
    ['busybox', { domain: '', path: 'busybox' }],
    ['test_com', { domain: '', path: 'test_com' }],
    ['test.com:tag', { domain: '', path: 'test.com', tag: 'tag' }],
    ['test.com:5000', { domain: '', path: 'test.com', tag: '5000' }],
    ['test.com/repo:tag', { domain: 'test.com', path: 'repo', tag: 'tag' }],
    ['test:5000/repo', { domain: 'test:5000', path: 'repo' }],
    [`test:5000/repo@${sha256}`, { domain: 'test:5000', path: 'repo', digest: sha256 }],
    [`test:5000/repo:tag@${sha256}`, { domain: 'test:5000', path: 'repo', tag: 'tag', digest: sha256 }],
    ['lowercase:Uppercase', { domain: '', path: 'lowercase', tag: 'Uppercase' }],
    [
      `${'a/'.repeat(127)}a:tag-puts-this-over-max`,
      { domain: 'a', path: `${'a/'.repeat(126)}a`, tag: 'tag-puts-this-over-max' },
    ],
    ['sub-dom1.foo.com/bar/baz/quux', { domain: 'sub-dom1.foo.com', path: 'bar/baz/quux' }],
    [
      'b.gcr.io/test.example.com/my-app:test.example.com',
      { domain: 'b.gcr.io', path: 'test.example.com/my-app', tag: 'test.example.com' },
    ],
    [
      `xn--7o8h.com/myimage:xn--7o8h.com@${sha512}`,
      { domain: 'xn--7o8h.com', path: 'myimage', tag: 'xn--7o8h.com', digest: sha512 },
    ],
    ['foo_bar.com:8080', { domain: '', path: 'foo_bar.com', tag: '8080' }],
    ['foo/foo_bar.com:8080', { domain: 'foo', path: 'foo_bar.com', tag: '8080' }],
    ['192.168.1.1:5000/repo:5050', { domain: '192.168.1.1:5000', path: 'repo', tag: '5050' }],
    ['[2001:db8::1]/repo', { domain: '[2001:db8::1]', path: 'repo' }],
    ['[2001:db8::1]:5000/repo:tag', { domain: '[2001:db8::1]:5000', path: 'repo', tag: 'tag' }],
    ['[::1]:5000/repo', { domain: '[::1]:5000', path: 'repo' }],
    ['Uppercase/lowercase:tag', { domain: 'Uppercase', path: 'lowercase', tag: 'tag' }],
    ['foo__bar/a-b--c.d_e:t', { domain: '', path: 'foo__bar/a-b--c.d_e', tag: 't' }],
  ];
  for (const [ref, parts] of cases) {
    t.equal(imageReferenceProblem(ref), undefined, `${ref.slice(0, 60)} is valid`);
    t.same(parseImageReference(ref), parts, `${ref.slice(0, 60)} splits into its parts`);
  }
});

t.test('imageReferenceProblem refuses what distribution/reference refuses, saying why', async (t) => {
  const cases: [string, string][] = [
    ['', 'must not be empty'],
    [':justtag', 'must start with a repository name'],
    [`@${sha256}`, 'must start with a repository name'],
    [`repo@sha256:${'f'.repeat(34)}`, 'a sha256 digest must have 64 hex digits (not 34)'],
    [
      `validname@invaliddigest:${'f'.repeat(64)}`,
      'digest algorithm "invaliddigest" is not supported (use sha256, sha384 or sha512)',
    ],
    [`repo@sha256:${'F'.repeat(64)}`, 'a sha256 digest must be lowercase hex'],
    [
      `repo@constructor:${'f'.repeat(64)}`,
      'digest algorithm "constructor" is not supported (use sha256, sha384 or sha512)',
    ],
    ['repo@sha256:xyz', 'digest "sha256:xyz" must be algorithm:hex, such as sha256: and 64 hex digits'],
    ['Uppercase:tag', 'the repository path must be lowercase (not "U" in "Uppercase")'],
    ['test:5000/Uppercase/lowercase:tag', 'the repository path must be lowercase (not "U" in "Uppercase")'],
    [
      `${'a/'.repeat(128)}a:tag`,
      `the repository name must be at most ${MAX_IMAGE_NAME_LENGTH} characters (not 257)`,
    ],
    ['aa/asdf$$^/aa', 'path component "asdf$$^" must not contain "$"'],
    ['[2001:db8::1]', 'names only a registry: add the repository path after it, as in "[2001:db8::1]/etcd"'],
    [
      '[2001:db8::1]:5000',
      'names only a registry: add the repository path after it, as in "[2001:db8::1]:5000/etcd"',
    ],
    [
      '[2001:db8::1]:tag',
      'names only a registry: add the repository path after it, as in "[2001:db8::1]/etcd"',
    ],
    [
      '[fe80::1%eth0]:5000/repo',
      'registry "[fe80::1%eth0]:5000" must be a host name or [IPv6 address] with an optional :port',
    ],
    [
      'quay.io/coreos/etcd:-v3',
      'tag "-v3" must be 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"',
    ],
    [
      `etcd:${'t'.repeat(129)}`,
      `tag "${'t'.repeat(40)}…" must be 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`,
    ],
    ['quay.io/coreos/etcd v3', 'must not contain whitespace (found " ")'],
    ['quay.io//etcd', 'must not have an empty path component ("//", or "/" at either end)'],
    ['quay.io/etcd/', 'must not have an empty path component ("//", or "/" at either end)'],
    [
      'quay.io/etcd-',
      'path component "etcd-" must be lowercase letters and digits separated by ".", "_", "__" or "-"',
    ],
    [
      'foo___bar',
      'path component "foo___bar" must be lowercase letters and digits separated by ".", "_", "__" or "-"',
    ],
    [
      'my_registry.com:5000/etcd',
      'registry "my_registry.com:5000" must be a host name or [IPv6 address] with an optional :port',
    ],
  ];
  for (const [ref, problem] of cases) {
    t.equal(imageReferenceProblem(ref), problem, ref.slice(0, 60));
    t.equal(parseImageReference(ref), undefined, `${ref.slice(0, 60)} does not parse`);
  }
});

t.test('imageRepositoryProblem wants a name with an optional registry, and no tag', async (t) => {
  for (const ok of [
    'quay.io/coreos/etcd',
    'gcr.io/etcd-development/etcd',
    'registry.k8s.io/etcd',
    'etcd',
    'localhost:5000/etcd',
    'quay.io:443/coreos/etcd',
    '[::1]:5000/etcd',
    'my.registry.example/team/etcd-mirror',
  ]) {
    t.equal(imageRepositoryProblem(ok), undefined, ok);
  }
  const noTag = 'must be a repository without a tag or digest: the operator appends ":v" and spec.version';
  const cases: [string, string][] = [
    ['quay.io/coreos/etcd:v3.5.9', noTag],
    [`quay.io/coreos/etcd@${sha256}`, noTag],
    ['quay.io/coreos/etcd:-bad', noTag],
    ['quay.io/CoreOS/etcd', 'the repository path must be lowercase (not "C" in "CoreOS")'],
    ['quay.io/coreos/etcd ', 'must not contain whitespace (found " ")'],
    ['https://quay.io/coreos/etcd', 'must not start with a URL scheme ("https://")'],
    ['quay.io/core$os/etcd', 'path component "core$os" must not contain "$"'],
    [
      `quay.io/${'a'.repeat(250)}`,
      `the repository name must be at most ${MAX_IMAGE_NAME_LENGTH} characters (not 258)`,
    ],
  ];
  for (const [repository, problem] of cases) t.equal(imageRepositoryProblem(repository), problem, repository);
});

t.test('long adversarial input is answered quickly (no catastrophic backtracking)', async (t) => {
  for (const input of ['a'.repeat(20000) + '!', 'a-'.repeat(10000) + '!', 'a.'.repeat(10000) + '/A']) {
    t.type(imageReferenceProblem(input), 'string');
    t.type(imageRepositoryProblem(input), 'string');
  }
});

t.test('parseEtcdCluster rejects a bad spec.repository, naming the field', async (t) => {
  const parse = (repository: string) => () =>
    parseEtcdCluster({
      apiVersion: 'etcd.io/v1alpha1',
      kind: 'EtcdCluster',
      metadata: { name: 'demo' },
      spec: { repository },
    });
  t.doesNotThrow(parse('gcr.io/etcd-development/etcd'));
  t.throws(parse('quay.io/CoreOS/etcd'), ValidationError);
  t.throws(parse('quay.io/CoreOS/etcd'), {
    message:
      'invalid EtcdCluster: spec.repository: the repository path must be lowercase (not "C" in "CoreOS")',
  });
  t.throws(parse('quay.io/coreos/etcd:v3.5.9'), {
    message: /^invalid EtcdCluster: spec\.repository: must be a repository without a tag or digest/,
  });
});
