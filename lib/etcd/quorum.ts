/**
 * Quorum arithmetic over voting members. Learners do not vote: they neither count towards the
 * cluster size nor help reach quorum.
 */

export interface VotingInfo {
  id: string;
  isLearner?: boolean;
}

/** Votes needed to commit in a cluster of `voters` voting members. */
export function quorum(voters: number): number {
  if (!Number.isInteger(voters) || voters < 0) throw new RangeError(`${voters} is not a member count`);
  return Math.floor(voters / 2) + 1;
}

/** How many voting members may fail while the cluster keeps quorum. */
export function faultTolerance(voters: number): number {
  return Math.max(0, voters - quorum(voters));
}

/** True when the healthy voters reach quorum. */
export function hasQuorum(members: readonly VotingInfo[], healthy: Iterable<string>): boolean {
  const voters = members.filter((m) => !m.isLearner);
  return healthyVoters(voters, healthy) >= quorum(voters.length);
}

/**
 * True when the removal of `target` can commit (the current voters have a healthy quorum) and
 * leaves the remaining voters with one. Removing a learner never changes quorum; removing the last
 * voter is never safe.
 */
export function canRemoveWithoutLosingQuorum(
  members: readonly VotingInfo[],
  healthy: Iterable<string>,
  target: string,
): boolean {
  healthy = [...healthy];
  if (!hasQuorum(members, healthy)) return false;
  const member = members.find((m) => m.id === target);
  if (!member || member.isLearner) return true;
  const remaining = members.filter((m) => !m.isLearner && m.id !== target);
  if (remaining.length === 0) return false;
  return healthyVoters(remaining, healthy) >= quorum(remaining.length);
}

/**
 * True when one more voter (not yet started, so not healthy) keeps quorum: adding a voter raises
 * quorum for even sizes, which is why members join as learners first.
 */
export function canAddVoterWithoutLosingQuorum(
  members: readonly VotingInfo[],
  healthy: Iterable<string>,
): boolean {
  const voters = members.filter((m) => !m.isLearner);
  return healthyVoters(voters, healthy) >= quorum(voters.length + 1);
}

function healthyVoters(voters: readonly VotingInfo[], healthy: Iterable<string>): number {
  const set = new Set(healthy);
  return voters.filter((m) => set.has(m.id)).length;
}
