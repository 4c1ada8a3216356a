import t from 'tap';
import { NotFoundError, UsageError } from '../../lib/errors.js';
import {
  formatMemberId,
  isMemberId,
  memberIdToDecimal,
  parseMemberId,
  resolveMember,
} from '../../lib/etcd/index.js';

t.test('decimal uint64 from etcd3 → 16-digit hex, exactly', async (t) => {
  const cases: [string | bigint, string][] = [
    ['10276657743932975437', '8e9e05c52164694d'],
    ['18446744073709551615', 'ffffffffffffffff'],
    // beyond 2^53 a JS number would round this to …690
    ['9007199254740993', '0020000000000001'],
    ['1', '0000000000000001'],
    ['0', '0000000000000000'],
    [0xabcn, '0000000000000abc'],
  ];
  for (const [input, hex] of cases) t.equal(formatMemberId(input), hex, String(input));
  t.throws(() => formatMemberId('18446744073709551616'), RangeError, 'past uint64');
  t.throws(() => formatMemberId(-1n), RangeError);
});

t.test('hex as people type it', async (t) => {
  const cases: [string, string | undefined][] = [
    ['8e9e05c52164694d', '8e9e05c52164694d'],
    ['8E9E05C52164694D', '8e9e05c52164694d'],
    ['0x8e9e05c52164694d', '8e9e05c52164694d'],
    ['abc', '0000000000000abc'],
    [' 20000000000001 ', '0020000000000001'],
    ['18e9e05c52164694d', undefined],
    ['member-1', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of cases) {
    if (expected === undefined) {
      t.throws(() => parseMemberId(input), UsageError, JSON.stringify(input));
      t.equal(isMemberId(input), false);
    } else {
      t.equal(parseMemberId(input), expected, JSON.stringify(input));
      t.equal(isMemberId(input), true);
    }
  }
});

t.test('hex → the decimal etcd3 sends, round trip', async (t) => {
  t.equal(memberIdToDecimal('8e9e05c52164694d'), '10276657743932975437');
  t.equal(memberIdToDecimal('ffffffffffffffff'), '18446744073709551615');
  t.equal(formatMemberId(memberIdToDecimal('0020000000000001')), '0020000000000001');
});

t.test('a member is named by name first, then by hex ID', async (t) => {
  const members = [
    { id: '8e9e05c52164694d', name: 'demo-0' },
    { id: '0000000000000abc', name: 'demo-1' },
    // a name that reads as hex must still find its member by name
    { id: '00000000000000ff', name: 'abc' },
    { id: '1111111111111111', name: '' },
  ];
  const cases: [string, string][] = [
    ['demo-0', '8e9e05c52164694d'],
    ['8e9e05c52164694d', '8e9e05c52164694d'],
    ['0x8E9E05C52164694D', '8e9e05c52164694d'],
    ['abc', '00000000000000ff'],
    ['0abc', '0000000000000abc'],
    ['1111111111111111', '1111111111111111'],
  ];
  for (const [ref, id] of cases) t.equal(resolveMember(members, ref).id, id, ref);
  const err = t.throws(() => resolveMember(members, 'demo-9'), NotFoundError) as Error;
  t.match(err.message, /no member "demo-9"; members: demo-0 \(8e9e05c52164694d\), demo-1/);
  t.throws(
    () => resolveMember([...members, { id: '2222222222222222', name: 'demo-0' }], 'demo-0'),
    UsageError,
    'ambiguous name',
  );
});
