import t from 'tap';
import { renderTable, type Column } from '../../plugin/output/table.js';

interface Row {
  name: string;
  size?: number;
  leader: boolean;
  note?: string;
}

const columns: Column<Row>[] = [
  { header: 'name', value: (r) => r.name },
  { header: 'db size', value: (r) => r.size },
  { header: 'leader', value: (r) => r.leader },
  { header: 'pod', value: (r) => r.name, wide: true },
  { header: 'note', value: (r) => r.note },
];
const rows: Row[] = [
  { name: 'demo-0', size: 20480, leader: true, note: 'two\nlines' },
  { name: 'demo-10', leader: false },
];

t.test('upper-case headers, three spaces between columns, <none> for empty cells', async (t) => {
  t.equal(
    renderTable(rows, columns),
    [
      'NAME      DB SIZE   LEADER   NOTE',
      'demo-0    20480     true     two lines',
      'demo-10   <none>    false    <none>',
      '',
    ].join('\n'),
  );
});

t.test('wide columns only with -o wide; --no-headers drops the header line', async (t) => {
  t.equal(
    renderTable(rows, columns, { wide: true, noHeaders: true }),
    [
      'demo-0    20480    true    demo-0    two lines',
      'demo-10   <none>   false   demo-10   <none>',
      '',
    ].join('\n'),
  );
});

t.test('no rows: the header alone; the last column is never padded', async (t) => {
  t.equal(renderTable([], columns), 'NAME   DB SIZE   LEADER   NOTE\n');
  t.equal(renderTable([{ name: 'x', leader: false, note: '' }], columns.slice(0, 1)), 'NAME\nx\n');
});
