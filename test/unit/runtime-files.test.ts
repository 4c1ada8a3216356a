import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { writeAtomically } from '../../sandbox/runtime/atomic-writer.js';
import { ContainerLogs, tailOffset } from '../../sandbox/runtime/logs.js';
import { claimSlot, reapStaleSlots, releaseSlot } from '../../sandbox/runtime/slots.js';

t.test('atomic writer: ..data swap, symlinks per top-level name, stale names removed', async (t) => {
  const dir = t.testdir();
  const file = (s: string, mode = 0o644) => ({ data: Buffer.from(s), mode });
  t.ok(
    writeAtomically(
      dir,
      new Map([
        ['a', file('1', 0o400)],
        ['sub/b', file('2')],
      ]),
    ),
  );
  t.equal(readFileSync(join(dir, 'a'), 'utf8'), '1');
  t.equal(readFileSync(join(dir, 'sub', 'b'), 'utf8'), '2');
  t.equal(readlinkSync(join(dir, 'a')), join('..data', 'a'));
  t.equal(statSync(join(dir, 'a')).mode & 0o777, 0o400);
  const first = readlinkSync(join(dir, '..data'));
  t.notOk(
    writeAtomically(
      dir,
      new Map([
        ['a', file('1')],
        ['sub/b', file('2')],
      ]),
    ),
    'same content: no write',
  );
  t.ok(writeAtomically(dir, new Map([['a', file('changed')]])));
  t.equal(readFileSync(join(dir, 'a'), 'utf8'), 'changed');
  t.notOk(existsSync(join(dir, 'sub')), 'a name no longer in the payload is gone');
  t.notOk(existsSync(join(dir, first)), 'the old version is removed');
  t.same(readdirSync(dir).sort(), ['..data', readlinkSync(join(dir, '..data')), 'a'].sort());
});

t.test('logs: current and previous run, tailLines', async (t) => {
  const logs = new ContainerLogs(t.testdir());
  writeFileSync(logs.openRun('c', 0), 'one\ntwo\n');
  writeFileSync(logs.openRun('c', 1), 'three\nfour\nfive\n');
  const text = async (r: NodeJS.ReadableStream) => {
    let s = '';
    for await (const chunk of r) s += String(chunk);
    return s;
  };
  t.equal(await text(logs.read('c', 1, {}, () => false)), 'three\nfour\nfive\n');
  t.equal(await text(logs.read('c', 1, { previous: true }, () => false)), 'one\ntwo\n');
  t.equal(await text(logs.read('c', 1, { tailLines: 2 }, () => false)), 'four\nfive\n');
  t.equal(
    await text(logs.read('c', 1, { follow: true }, () => false)),
    'three\nfour\nfive\n',
    'follow ends with the run',
  );
  t.throws(() => logs.read('c', 0, { previous: true }, () => false), /previous terminated container/);
  t.same(
    [
      tailOffset(Buffer.from('a\nb\n'), 1),
      tailOffset(Buffer.from('a\nb'), 1),
      tailOffset(Buffer.from('a\n'), 5),
    ],
    [2, 2, 0],
  );
});

t.test('slots: claimed atomically, stale ones reaped once', async (t) => {
  const runDir = t.testdir();
  const a = claimSlot(runDir, { runtimeId: 'a', stateDir: '/x' });
  const b = claimSlot(runDir, { runtimeId: 'b', stateDir: '/y' });
  t.not(a, b, 'two claims, two slots');
  const reaped: string[] = [];
  await reapStaleSlots(runDir, async (_slot, owner) => void reaped.push(owner.runtimeId));
  t.same(reaped, [], 'live owners are left alone');
  const stale = [7, 8, 9].find((s) => s !== a && s !== b);
  writeFileSync(
    join(runDir, `slot-${stale}`),
    JSON.stringify({ pid: 1, startTime: 'not-init', runtimeId: 'dead', stateDir: '/z' }),
  );
  await reapStaleSlots(runDir, async (slot, owner) => void reaped.push(`${owner.runtimeId}@${slot}`));
  t.same(reaped, [`dead@${stale}`]);
  t.notOk(existsSync(join(runDir, `slot-${stale}`)), 'the stale claim is freed');
  releaseSlot(runDir, a);
  releaseSlot(runDir, b);
  t.same(readdirSync(runDir), []);
});
