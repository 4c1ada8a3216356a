/**
 * The restore planner: pure. For a cluster created from a backup (`spec.bootstrap.restore`), what
 * the bootstrap may do and what the `Restored` condition says.
 *
 * - No member is created until the snapshot has been found and checked against its manifest; the
 *   snapshot so checked is pinned in status.restoredFrom, and every initial member restores that
 *   one, even if the EtcdBackup takes a newer snapshot meanwhile.
 * - A snapshot that fails its check (corrupted, truncated, a manifest that contradicts it, an etcd
 *   minor the cluster cannot restore) fails the cluster for good, until its spec changes; a backup
 *   not found (yet) or storage out of reach is looked for again, with a growing delay.
 * - Once the members run, the restore is history: later members join as learners, as in any cluster.
 */
import type { ConditionInput, EtcdCluster, RestoredFrom } from '../api/index.js';
import { isTerminalRestoreFailure, type RestoreFailureReason } from '../backup/restore-source.js';
import { shortDigest } from '../backup/check-snapshot.js';
import type { Observed } from './observed.js';

export const RESTORED_CONDITION = 'Restored';
const RETRY_MIN_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;

export interface RestoreEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** What a pass decides about the restore: the pin, the condition, an Event on a change. */
export interface RestorePlan {
  /** status.restoredFrom after this pass. */
  pin?: RestoredFrom;
  condition: ConditionInput;
  event?: RestoreEvent;
  /** Before the first bootstrap: the snapshot the initial members restore; absent: create none. */
  members?: RestoredFrom;
  /** Why no member may be created. */
  failure?: { reason: RestoreFailureReason; message: string; retryAfterMs?: number };
}

/** status.restoredFrom, when it is the snapshot that spec.bootstrap.restore names. */
export function recordedRestore(cluster: EtcdCluster): RestoredFrom | undefined {
  const restore = cluster.spec.bootstrap?.restore;
  const pin = cluster.status?.restoredFrom;
  if (!restore || !pin) return undefined;
  if (restore.backupName !== undefined) return pin.backupName === restore.backupName ? pin : undefined;
  const source = restore.source;
  const same =
    source !== undefined &&
    pin.backupName === undefined &&
    pin.snapshot === source.path &&
    canonical(pin.storage) === canonical(source.storage);
  return same ? pin : undefined;
}

/**
 * Whether this pass must look at the backup (read the manifest, stream the snapshot) before it can
 * plan: a restoring cluster not yet bootstrapped, with no pinned snapshot, and no failure on record
 * that looking again cannot mend.
 */
export function restoreCheckNeeded(cluster: EtcdCluster, pinned: boolean): boolean {
  if (!cluster.spec.bootstrap?.restore || pinned) return false;
  if (cluster.metadata.deletionTimestamp || cluster.spec.paused || cluster.status?.clusterID) return false;
  const last = restoredCondition(cluster);
  const terminal =
    last?.status === 'False' &&
    isTerminalRestoreFailure(last.reason) &&
    last.observedGeneration === (cluster.metadata.generation ?? 0);
  return !terminal;
}

/** The restore before the first bootstrap: members from the pinned snapshot, or none and why. */
export function planRestoreStart(o: Observed): RestorePlan {
  const previous = restoredCondition(o.cluster);
  const pinned = o.restore?.pinned;
  if (pinned) {
    const condition: ConditionInput = {
      type: RESTORED_CONDITION,
      status: 'Unknown',
      reason: 'Restoring',
      message: `restoring ${describe(pinned)}`,
    };
    const newPin = o.cluster.status?.restoredFrom?.sha256 !== pinned.sha256;
    return {
      pin: pinned,
      condition,
      members: pinned,
      ...(newPin
        ? {
            event: {
              type: 'Normal',
              reason: 'SnapshotVerified',
              message: `snapshot ${pinned.snapshot} matches its manifest (${pinned.size} bytes, sha256 ${shortDigest(pinned.sha256)}, revision ${pinned.revision}): restoring it`,
            },
          }
        : {}),
    };
  }
  const found = o.restore?.failure;
  // No check this pass: a failure on record that looking again cannot mend.
  const reason = (found?.reason ?? previous?.reason ?? 'SnapshotIntegrity') as RestoreFailureReason;
  const message = found?.message ?? previous?.message ?? 'the snapshot cannot be restored';
  const condition: ConditionInput = { type: RESTORED_CONDITION, status: 'False', reason, message };
  const changed = previous?.status !== 'False' || previous.reason !== reason || previous.message !== message;
  const retry = found ? found.retry : !isTerminalRestoreFailure(reason);
  return {
    condition,
    ...(changed ? { event: { type: 'Warning', reason: 'RestoreFailed', message } } : {}),
    failure: {
      reason,
      message,
      ...(retry ? { retryAfterMs: restoreRetryAfterMs(o.cluster, o.now, changed) } : {}),
    },
  };
}

/** The restore once the members run: done. */
export function planRestoreDone(cluster: EtcdCluster): RestorePlan {
  const pin = cluster.status?.restoredFrom;
  const condition: ConditionInput = {
    type: RESTORED_CONDITION,
    status: 'True',
    reason: 'Restored',
    message: pin ? `restored ${describe(pin)}` : 'restored from a backup',
  };
  const previous = restoredCondition(cluster);
  return {
    ...(pin ? { pin } : {}),
    condition,
    ...(previous?.status !== 'True'
      ? { event: { type: 'Normal', reason: 'Restored', message: `the cluster runs, ${condition.message}` } }
      : {}),
  };
}

/**
 * How long to wait before looking for the backup again: as long as it has been missing, between
 * 5 s and 5 minutes — a delay that doubles without a counter to keep.
 */
export function restoreRetryAfterMs(cluster: EtcdCluster, now: Date, justFailed: boolean): number {
  const since = justFailed ? undefined : restoredCondition(cluster)?.lastTransitionTime;
  const elapsed = since ? now.getTime() - Date.parse(since) : 0;
  return Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, Number.isFinite(elapsed) ? elapsed : 0));
}

function restoredCondition(cluster: EtcdCluster) {
  return cluster.status?.conditions?.find((c) => c.type === RESTORED_CONDITION);
}

function describe(pin: RestoredFrom): string {
  const from = pin.backupName ? ` (EtcdBackup ${pin.backupName})` : '';
  return `snapshot ${pin.snapshot}${from}, revision ${pin.revision ?? '?'}`;
}

/** JSON with sorted keys: the same location however its fields were ordered. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}
