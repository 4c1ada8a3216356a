/**
 * lib/backup: the EtcdBackup controller — plan (pure) → execute (I/O) — the SnapshotStore port and
 * its adapters, the manifest that makes a snapshot a backup, and restores: the check of a restore
 * source, the restore agent's work, and the test restore that verifies a backup.
 */
export { createEtcdBackupController, type EtcdBackupControllerOptions } from './controller.js';
export { runBackup, settleInterruptedRun, type BackupDeps } from './execute.js';
export { planBackup, retryDelayMs, ONE_SHOT_ATTEMPTS, type BackupAction } from './plan.js';
export { scheduleDecision, type ScheduleDecision, type ScheduleSpec } from './schedule.js';
export { expiredBackups } from './retention.js';
export { chooseSnapshotMember, CAUGHT_UP_ENTRIES } from './source-member.js';
export { readCatalog, type Catalog } from './catalog.js';
export {
  MANIFEST_FORMAT,
  encodeManifest,
  isManifestKey,
  manifestKey,
  parseManifest,
  snapshotKey,
  type BackupManifest,
} from './manifest.js';
export { createBackupMetrics, type BackupMetrics } from './metrics.js';
export {
  failedStatus,
  runningStatus,
  succeededStatus,
  waitingStatus,
  type Failure,
  type FailureReason,
} from './status.js';
export type { PutOptions, SnapshotStore, StoredObject } from './store.js';
export { claimsUnder, openStore, type ClaimDirectory, type StoreContext } from './stores.js';
export { createVolumeStore, type VolumeStoreOptions } from './volume-store.js';
export {
  SnapshotFileCheck,
  checkStoredSnapshot,
  readCheckedSnapshot,
  writeCheckedSnapshot,
  shortDigest,
  type ExpectedSnapshot,
  type ReadSnapshotOptions,
} from './check-snapshot.js';
export {
  etcdMinor,
  etcdToolName,
  findEtcdTool,
  findSnapshotRestoreTool,
  searchPath,
  snapshotRestoreCommand,
  type EtcdTool,
  type SnapshotRestoreTool,
} from './etcd-tools.js';
export { holdsMember, restoreDataDir, type DataDirRestore } from './restore-data-dir.js';
export {
  checkRestoreSource,
  isTerminalRestoreFailure,
  restoreVersionProblem,
  type RestoreFailureReason,
  type RestoreSourceCheck,
  type RestoreSourceContext,
  type RestoreSourceFailure,
} from './restore-source.js';
export {
  credentialVariableName,
  credentialVariables,
  credentialsFromEnvironment,
  type CredentialVariable,
} from './restore-credentials.js';
export { restoreMember, type MemberRestoreDeps, type MemberRestoreRequest } from './restore-member.js';
export {
  verifyByRestore,
  storedSnapshotVerifier,
  type RestoreVerification,
  type VerifyRestoreOptions,
} from './verify-restore.js';
