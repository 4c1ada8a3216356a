/** Status conditions as Kubernetes keeps them: lastTransitionTime moves only when status changes. */
import type { Condition } from '../../generated/types.js';

/** A condition as a pass computes it, before its times are known. */
export type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export function withTransitions(
  previous: readonly Condition[] | undefined,
  computed: readonly ConditionInput[],
  now: Date,
  generation: number,
): Condition[] {
  const before = new Map((previous ?? []).map((c) => [c.type, c]));
  return computed.map((c) => {
    const last = before.get(c.type);
    const lastTransitionTime = last && last.status === c.status ? last.lastTransitionTime : now.toISOString();
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}
