import type { KeyObject } from 'node:crypto';
import t from 'tap';
import { KeyPool } from '../../lib/tls/index.js';

/** A generator of numbered stand-in keys that records each request. */
function counting(fail = false) {
  let next = 0;
  const requests: number[] = [];
  const generate = async (count: number): Promise<KeyObject[]> => {
    requests.push(count);
    await Promise.resolve();
    if (fail) throw new Error('no entropy');
    return Array.from({ length: count }, () => ({ n: next++ }) as unknown as KeyObject);
  };
  return { generate, requests };
}
const ids = (keys: KeyObject[]) => keys.map((k) => (k as unknown as { n: number }).n);

t.test('keys made ahead are handed out, then the pool refills', async (t) => {
  const gen = counting();
  const pool = new KeyPool(4, gen.generate);
  pool.fill();
  t.same(ids(await pool.take(4)), [0, 1, 2, 3], 'the ready keys');
  t.same(gen.requests, [4, 4], 'the take waited for the fill under way, then refilled');
  t.same(ids(await pool.take(2)), [4, 5], 'the refilled ones next');
});

t.test('a take larger than the pool makes the rest; no key is handed out twice', async (t) => {
  const gen = counting();
  const pool = new KeyPool(2, gen.generate);
  pool.fill();
  const first = ids(await pool.take(3));
  const second = ids(await pool.take(3));
  t.equal(first.length, 3);
  t.equal(second.length, 3);
  t.equal(new Set([...first, ...second]).size, 6, 'six distinct keys');
});

t.test('a failed fill leaves the pool short, and take makes what it needs', async (t) => {
  const failing = counting(true);
  const pool = new KeyPool(4, failing.generate);
  pool.fill();
  await t.rejects(pool.take(1), /no entropy/, 'made now, and that fails too');
});
