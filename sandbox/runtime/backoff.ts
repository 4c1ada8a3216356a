/** Restart decisions of the kubelet: whether a container that ended restarts, and after how long. Pure. */

export interface BackoffPolicy {
  /** The delay before the second restart in a row (Kubernetes: 10 s); it doubles from there. */
  baseMs: number;
  /** The ceiling (Kubernetes: 5 min). */
  maxMs: number;
}

export const KUBERNETES_BACKOFF: BackoffPolicy = { baseMs: 10_000, maxMs: 300_000 };

/**
 * The delay before restarting a container that has crashed `crashesInARow` times (1 for the first
 * crash). As in the kubelet, the first restart is immediate, then base, 2×base, … up to max.
 */
export function restartDelay(policy: BackoffPolicy, crashesInARow: number): number {
  if (crashesInARow <= 1) return 0;
  return Math.min(policy.baseMs * 2 ** (crashesInARow - 2), policy.maxMs);
}

/**
 * A run that lasted this long resets the count of crashes in a row (the kubelet forgets a back-off
 * entry after twice the ceiling without a crash).
 */
export function resetsBackoff(policy: BackoffPolicy, ranForMs: number): boolean {
  return ranForMs >= 2 * policy.maxMs;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export function restarts(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** Init containers restart on failure unless the pod never restarts anything. */
export function initRestarts(policy: RestartPolicy, exitCode: number): boolean {
  return exitCode !== 0 && policy !== 'Never';
}
