/**
 * The EtcdBackup status a pass writes, computed from the backup and what happened: pure. Two
 * conditions say where it is: `Running` (a snapshot is being taken) and `Succeeded` (the outcome of
 * the latest run, with a one-line reason naming what went wrong when it failed).
 */
import { withTransitions, type ConditionInput } from '../api/conditions.js';
import type {
  BackupRecord,
  BackupRun,
  BackupRunRecord,
  EtcdBackup,
  EtcdBackupStatus,
} from '../../generated/types.js';

export const HISTORY_LIMIT = 10;

/** Why a run failed: the condition reason, and the Event reason of its Warning. */
export type FailureReason =
  | 'ClusterNotFound'
  | 'NoQuorum'
  | 'EtcdUnavailable'
  | 'BackendUnreachable'
  | 'BucketNotFound'
  | 'CredentialsRefused'
  | 'CredentialsNotFound'
  | 'StorageMisconfigured'
  | 'IntegrityCheckFailed'
  | 'VerificationFailed'
  | 'Interrupted'
  | 'BackupFailed';

export interface Failure {
  reason: FailureReason;
  /** One line, without credentials. */
  message: string;
}

/** A merge patch of status: `null` removes a field (currentRun once a run ends). */
export type StatusPatch = { [K in keyof EtcdBackupStatus]: EtcdBackupStatus[K] | null };

export function runningStatus(backup: EtcdBackup, run: BackupRun, now: Date): StatusPatch {
  return {
    phase: 'Running',
    currentRun: run,
    ...(run.scheduledTime ? { lastScheduleTime: run.scheduledTime } : {}),
    observedGeneration: generation(backup),
    conditions: conditions(backup, now, [
      { type: 'Running', status: 'True', reason: 'SnapshotInProgress', message: `taking ${run.name}` },
      previousOutcome(backup),
    ]),
  };
}

export function succeededStatus(
  backup: EtcdBackup,
  run: BackupRun,
  record: BackupRecord,
  now: Date,
): StatusPatch {
  const message = `${record.name} at revision ${record.revision}, ${record.size} bytes, verified by ${record.verified}`;
  return {
    phase: 'Succeeded',
    currentRun: null,
    lastBackup: record,
    consecutiveFailures: 0,
    history: withRecord(backup, {
      name: run.name,
      startTime: run.startTime,
      completionTime: now.toISOString(),
      outcome: 'Succeeded',
    }),
    observedGeneration: generation(backup),
    conditions: conditions(backup, now, [
      notRunning(),
      { type: 'Succeeded', status: 'True', reason: 'SnapshotStored', message },
    ]),
  };
}

/** A failed run (`run` undefined when it failed before it had a name: the cluster is missing). */
export function failedStatus(
  backup: EtcdBackup,
  run: BackupRun | undefined,
  failure: Failure,
  now: Date,
): StatusPatch {
  const completionTime = now.toISOString();
  const record: BackupRunRecord = {
    name: run?.name ?? '',
    startTime: run?.startTime ?? completionTime,
    completionTime,
    outcome: 'Failed',
    message: failure.message,
  };
  return {
    phase: 'Failed',
    currentRun: null,
    consecutiveFailures: (backup.status?.consecutiveFailures ?? 0) + 1,
    history: withRecord(backup, record),
    observedGeneration: generation(backup),
    conditions: conditions(backup, now, [
      notRunning(),
      { type: 'Succeeded', status: 'False', reason: failure.reason, message: failure.message },
    ]),
  };
}

/** Between runs: when the next one starts, and Pending before the first. */
export function waitingStatus(
  backup: EtcdBackup,
  nextScheduleTime: Date | undefined,
  now: Date,
): StatusPatch {
  return {
    phase: backup.status?.phase ?? 'Pending',
    nextScheduleTime: nextScheduleTime ? nextScheduleTime.toISOString() : null,
    observedGeneration: generation(backup),
    conditions: conditions(backup, now, [notRunning(), previousOutcome(backup)]),
  };
}

function notRunning(): ConditionInput {
  return { type: 'Running', status: 'False', reason: 'Idle', message: 'no snapshot is being taken' };
}

function previousOutcome(backup: EtcdBackup): ConditionInput {
  const previous = backup.status?.conditions?.find((c) => c.type === 'Succeeded');
  return previous
    ? { type: 'Succeeded', status: previous.status, reason: previous.reason, message: previous.message }
    : { type: 'Succeeded', status: 'Unknown', reason: 'NoRunYet', message: 'no snapshot has been taken yet' };
}

function withRecord(backup: EtcdBackup, record: BackupRunRecord): BackupRunRecord[] {
  return [record, ...(backup.status?.history ?? [])].slice(0, HISTORY_LIMIT);
}

function conditions(backup: EtcdBackup, now: Date, computed: ConditionInput[]) {
  return withTransitions(backup.status?.conditions, computed, now, generation(backup));
}

function generation(backup: EtcdBackup): number {
  return backup.metadata.generation ?? 0;
}
