/**
 * Snapshot and manifest keys, and the manifest's own checks: what a restore relies on to find a
 * snapshot and to refuse one that is not a backup.
 */
import t from 'tap';
import {
  MANIFEST_FORMAT,
  encodeManifest,
  isManifestKey,
  manifestKey,
  parseManifest,
  snapshotKey,
  type BackupManifest,
} from '../../lib/backup/manifest.js';
import { SnapshotIntegrityError } from '../../lib/errors.js';

t.test('a snapshot key names the cluster and the UTC time to the millisecond', async (t) => {
  t.equal(snapshotKey('demo', new Date('2026-12-07T01:02:03.456Z')), 'demo/demo-20261207T010203.456Z.db');
  t.equal(snapshotKey('demo', new Date('2026-12-07T01:02:03Z')), 'demo/demo-20261207T010203.000Z.db');
});

t.test('two backups in one second get two keys, and keys sort as their times do', async (t) => {
  const times = [
    '2026-12-07T01:02:03.001Z',
    '2026-12-07T01:02:03.010Z',
    '2026-12-07T01:02:04.000Z',
    '2027-01-01T00:00:00.000Z',
  ];
  const keys = times.map((s) => snapshotKey('demo', new Date(s)));
  t.equal(new Set(keys).size, keys.length, 'no two alike');
  t.same([...keys].reverse().sort(), keys, 'text order is time order');
});

t.test('the manifest sits beside its snapshot', async (t) => {
  t.equal(manifestKey('demo/demo-20261207T010203.456Z.db'), 'demo/demo-20261207T010203.456Z.json');
  t.equal(manifestKey('imported/snap'), 'imported/snap.json', 'a snapshot named otherwise keeps its name');
  t.ok(isManifestKey('demo/demo-20261207T010203.456Z.json'));
  t.notOk(isManifestKey('demo/demo-20261207T010203.456Z.db'));
});

const manifest: BackupManifest = {
  format: MANIFEST_FORMAT,
  snapshot: 'demo/demo-20261207T010203.456Z.db',
  cluster: 'demo',
  namespace: 'default',
  clusterID: '0123456789abcdef',
  revision: 2345,
  etcdVersion: '3.6.5',
  member: 'demo-1',
  size: 20512,
  sha256: 'ab'.repeat(32),
  time: '2026-12-07T01:02:03.456Z',
  operatorVersion: '0.1.0',
  backup: 'nightly',
};

t.test('a manifest reads back as it was written', async (t) => {
  t.same(parseManifest('m.json', encodeManifest(manifest).toString()), manifest);
});

t.test('a manifest that is not one is refused, naming what is wrong', async (t) => {
  const rows: [string, string][] = [
    ['{', 'manifest m.json is not JSON'],
    ['null', 'manifest m.json is not an object'],
    [JSON.stringify({ ...manifest, format: 'x' }), `manifest m.json has format "x", not ${MANIFEST_FORMAT}`],
    [JSON.stringify({ ...manifest, snapshot: '' }), 'manifest m.json names no snapshot'],
    [JSON.stringify({ ...manifest, sha256: 'AB' }), 'manifest m.json has no valid sha256'],
    [JSON.stringify({ ...manifest, size: 0 }), 'manifest m.json has no valid size'],
    [JSON.stringify({ ...manifest, revision: 1.5 }), 'manifest m.json has no valid revision'],
    [JSON.stringify({ ...manifest, time: 'yesterday' }), 'manifest m.json has no valid time'],
  ];
  for (const [text, message] of rows) {
    t.throws(() => parseManifest('m.json', text), new SnapshotIntegrityError(message), message);
  }
});
