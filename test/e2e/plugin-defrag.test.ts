/**
 * `kubectl etcd defrag` on a fragmented 3-member cluster of real etcd: every member's file shrinks,
 * the leader goes last, and a client writing all the while sees no failed write.
 */
import t from 'tap';
import { startPluginCluster } from '../helpers/plugin.js';
import { expectNothingLeft } from '../helpers/sandbox.js';

const { sandbox, demo, etcd } = await startPluginCluster(t);

interface StatusJson {
  clusters: {
    leader?: string;
    members: { name: string; dbSize: number; dbSizeInUse: number; isLeader: boolean }[];
  }[];
}

const sizes = async () => {
  const r = await etcd('status', 'demo', '-o', 'json');
  return (JSON.parse(r.stdout) as StatusJson).clusters[0]!;
};

await t.test('defrag gives back the space deleted keys left, member by member, under writes', async (t) => {
  const client = await demo.client();
  const value = Buffer.alloc(16 * 1024, 'f');
  for (let i = 0; i < 1200; i += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, j) => client.put(`frag-${i + j}`).value(value)));
  }
  await client.delete().prefix('frag-');
  const { header } = await client.kv.range({ key: Buffer.from('frag-') });
  await client.kv.compact({ revision: header.revision, physical: true });
  const before = await sizes();
  for (const m of before.members) {
    t.ok(
      m.dbSize > 4 * m.dbSizeInUse,
      `${m.name} is fragmented: ${m.dbSize} allocated, ${m.dbSizeInUse} in use`,
    );
  }

  const writer = await demo.client(before.leader);
  let written = 0;
  const failures: string[] = [];
  let writing = true;
  const writes = (async () => {
    while (writing) {
      try {
        await writer
          .put(`during-${written}`)
          .value('x')
          .options({ deadline: Date.now() + 30_000 })
          .exec();
        written++;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  })();
  const r = await etcd('defrag', 'demo');
  writing = false;
  await writes;
  t.equal(r.code, 0, r.stderr);
  t.same(failures, [], 'no write failed during the defragmentation');
  t.ok(written > 0, `${written} writes went through meanwhile`);

  const order = [...r.stderr.matchAll(/^defragmenting (demo-\d)/gm)].map((m) => m[1]);
  t.equal(order.length, 3, 'every member, one at a time');
  t.equal(order.at(-1), before.leader, 'the leader last');
  const rows = r.stdout.trimEnd().split('\n');
  t.match(rows[0], /^MEMBER {3}ID {17}BEFORE +AFTER +FREED +TOOK$/);
  t.equal(rows.length, 4);

  const after = await sizes();
  for (const m of after.members) {
    const was = before.members.find((b) => b.name === m.name)!;
    t.ok(m.dbSize < was.dbSize / 4, `${m.name} shrank from ${was.dbSize} to ${m.dbSize}`);
  }
});

await t.test('defrag --member does that member only', async (t) => {
  const r = await etcd('defrag', 'demo', '--member', 'demo-1', '-o', 'json');
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { members: { member: string; before: number; after: number }[] };
  t.same(
    out.members.map((m) => m.member),
    ['demo-1'],
  );
  const missing = await etcd('defrag', 'demo', '--member', 'demo-7');
  t.equal(missing.code, 4);
  t.equal(missing.stderr, 'error: no member "demo-7"; members: demo-0, demo-1, demo-2\n');
});

await t.test('defrag refuses while a member does not answer', async (t) => {
  sandbox.runtime.faults.pausePod('default', 'demo-0');
  try {
    const r = await etcd('defrag', 'demo', '--request-timeout', '2s');
    t.equal(r.code, 2);
    t.match(
      r.stderr,
      /^error: not defragmenting while 1 member\(s\) do not answer \(etcd status at member demo-0 \(pod default\/demo-0\): no answer within [\d.]+s\): fix them first\n$/,
    );
    t.equal(r.stdout, '', 'nothing was defragmented');
  } finally {
    sandbox.runtime.faults.resumePod('default', 'demo-0');
  }
});

await t.test('the sandbox stops leaving nothing behind', async (t) => {
  await expectNothingLeft(t, sandbox);
});
