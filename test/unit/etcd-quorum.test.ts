import t from 'tap';
import {
  canAddVoterWithoutLosingQuorum,
  canRemoveWithoutLosingQuorum,
  faultTolerance,
  hasQuorum,
  quorum,
} from '../../lib/etcd/index.js';

t.test('quorum and fault tolerance by size', async (t) => {
  const table: [number, number, number][] = [
    // voters, quorum, tolerated failures
    [1, 1, 0],
    [2, 2, 0],
    [3, 2, 1],
    [4, 3, 1],
    [5, 3, 2],
    [6, 4, 2],
    [7, 4, 3],
    [9, 5, 4],
  ];
  for (const [n, q, f] of table) {
    t.equal(quorum(n), q, `quorum(${n})`);
    t.equal(faultTolerance(n), f, `faultTolerance(${n})`);
  }
  t.throws(() => quorum(-1), RangeError);
  t.throws(() => quorum(2.5), RangeError);
});

const voters = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `v${i}` }));
const learner = { id: 'l0', isLearner: true };

t.test('removing a member without losing quorum', async (t) => {
  const table: [string, { id: string; isLearner?: boolean }[], string[], string, boolean][] = [
    ['3 healthy, remove one', voters(3), ['v0', 'v1', 'v2'], 'v2', true],
    ['3 with one down, remove the down one', voters(3), ['v0', 'v1'], 'v2', true],
    ['3 with one down, remove a healthy one', voters(3), ['v0', 'v1'], 'v1', false],
    ['2 healthy, remove one', voters(2), ['v0', 'v1'], 'v1', true],
    ['the last voter', voters(1), ['v0'], 'v0', false],
    ['5 with two down, remove a down one', voters(5), ['v0', 'v1', 'v2'], 'v4', true],
    ['5 with two down, remove a healthy one', voters(5), ['v0', 'v1', 'v2'], 'v0', false],
    ['4 with one down, remove the down one', voters(4), ['v0', 'v1', 'v2'], 'v3', true],
    // the removal itself must commit, under the current 4 voters' quorum of 3
    ['4 with two down, remove a down one', voters(4), ['v0', 'v1'], 'v3', false],
    ['not a member, quorum held', voters(3), ['v0', 'v1'], 'x', true],
    ['a learner, cluster healthy', [...voters(3), learner], ['v0', 'v1', 'v2'], 'l0', true],
    ['a learner, quorum already lost', [...voters(3), learner], ['v0', 'l0'], 'l0', false],
    ['learners never help quorum', [...voters(3), learner], ['v0', 'l0'], 'v2', false],
  ];
  for (const [what, members, healthy, target, expected] of table) {
    t.equal(canRemoveWithoutLosingQuorum(members, healthy, target), expected, what);
  }
});

t.test('has quorum, and adding a voter that has not started yet', async (t) => {
  t.equal(hasQuorum(voters(3), ['v0', 'v1']), true);
  t.equal(hasQuorum(voters(3), ['v0']), false);
  t.equal(hasQuorum([...voters(1), learner], ['l0']), false);
  const table: [number, string[], boolean][] = [
    [3, ['v0', 'v1', 'v2'], true], // 3 of 4 needed: 3 healthy
    [3, ['v0', 'v1'], false], // 3 of 4 needed: 2 healthy
    [1, ['v0'], false], // 2 of 2 needed: the new one is not up
    [2, ['v0', 'v1'], true], // 2 of 3 needed
    [4, ['v0', 'v1', 'v2'], true], // 3 of 5 needed
  ];
  for (const [n, healthy, expected] of table) {
    t.equal(
      canAddVoterWithoutLosingQuorum(voters(n), healthy),
      expected,
      `${n} voters, ${healthy.length} healthy`,
    );
  }
});
