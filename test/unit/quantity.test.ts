import t from 'tap';
import { formatBytes, parseQuantity } from '../../lib/api/quantity.js';

t.test('parseQuantity reads Kubernetes quantities as bytes, rounding up', async (t) => {
  const cases: [number | string, bigint | undefined][] = [
    ['10Gi', 10n * 1024n ** 3n],
    ['512Mi', 512n * 1024n ** 2n],
    ['1.5Ki', 1536n],
    ['2G', 2_000_000_000n],
    ['1k', 1000n],
    ['8Ei', 8n * 1024n ** 6n],
    ['1e3', 1000n],
    ['1.1', 2n],
    ['+5', 5n],
    ['0', 0n],
    [42, 42n],
    [-1, undefined],
    ['-1Gi', undefined],
    ['10GB', undefined],
    ['Gi', undefined],
    ['', undefined],
  ];
  for (const [input, bytes] of cases) t.equal(parseQuantity(input), bytes, `${JSON.stringify(input)}`);
});

t.test('formatBytes picks the largest binary unit', async (t) => {
  t.equal(formatBytes(10n * 1024n ** 3n), '10Gi');
  t.equal(formatBytes(1536), '1.5Ki');
  t.equal(formatBytes(999), '999');
  t.equal(formatBytes(0), '0');
});
