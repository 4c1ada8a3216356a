/**
 * Which member a snapshot streams from: a healthy voting follower that has caught up with the
 * leader, so the leader is spared the disk and network load; the leader only when no follower is.
 */
import type { EndpointStatusResult, EndpointStatus } from '../etcd/index.js';

/** A follower this many entries behind the leader's commit index still counts as caught up. */
export const CAUGHT_UP_ENTRIES = 1000;

export function chooseSnapshotMember(statuses: readonly EndpointStatusResult[]): EndpointStatus | undefined {
  const answered = statuses.filter((s): s is EndpointStatus => !('error' in s));
  const leader = answered.find((s) => s.isLeader);
  if (!leader) return undefined;
  const followers = answered
    .filter(
      (s) =>
        !s.isLeader &&
        !s.isLearner &&
        s.leaderId === leader.memberId &&
        s.errors.length === 0 &&
        leader.raftIndex - s.raftAppliedIndex <= CAUGHT_UP_ENTRIES,
    )
    .sort((a, b) => b.raftAppliedIndex - a.raftAppliedIndex);
  return followers[0] ?? leader;
}
