import t from 'tap';
import { compareVersions, fieldPath, parseDuration, parseVersion } from '../../lib/api/index.js';

t.test('parseDuration reads Go durations as milliseconds', async (t) => {
  const cases: [string, number | undefined][] = [
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['8760h', 31_536_000_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['0s', 0],
    ['1d', undefined],
    ['h', undefined],
    ['10', undefined],
    ['', undefined],
  ];
  for (const [input, ms] of cases) t.equal(parseDuration(input), ms, input);
});

t.test('versions compare numerically, not as text', async (t) => {
  const v = (s: string) => parseVersion(s)!;
  t.ok(compareVersions(v('3.10.0'), v('3.9.9')) > 0, '3.10.0 > 3.9.9');
  t.ok(compareVersions(v('3.5.10'), v('3.5.9')) > 0, '3.5.10 > 3.5.9');
  t.equal(compareVersions(v('v3.5.9'), v('3.5.9')), 0, 'a leading v is the same version');
  t.ok(compareVersions(v('3.4.23'), v('3.5.0')) < 0);
  for (const bad of ['3.5', '3.5.x', 'latest', '']) t.equal(parseVersion(bad), undefined, bad);
});

t.test('fieldPath turns JSON pointers into Kubernetes field paths', async (t) => {
  t.equal(fieldPath(''), '<root>');
  t.equal(fieldPath('/spec/size'), 'spec.size');
  t.equal(fieldPath('/status/members/0/name'), 'status.members[0].name');
  t.equal(fieldPath('/spec/pod/labels/a~1b'), 'spec.pod.labels.a/b');
});
