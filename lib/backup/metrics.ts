/**
 * The backup counters on the operator's /metrics. `etcd_backup_last_success_timestamp_seconds` is
 * the one to alert on: `time() - it > 2 * the schedule's period` means backups have stopped.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface BackupMetrics {
  /** outcome: succeeded, failed; reason: the failure's condition reason, empty on success. */
  runs: Counter<'namespace' | 'backup' | 'outcome' | 'reason'>;
  bytes: Counter<'namespace' | 'backup'>;
  duration: Histogram<'namespace' | 'backup'>;
  lastSuccess: Gauge<'namespace' | 'backup'>;
}

export function createBackupMetrics(registry: Registry): BackupMetrics {
  const registers = [registry];
  const labelNames = ['namespace', 'backup'] as const;
  return {
    runs: new Counter({
      name: 'etcd_backup_runs_total',
      help: 'Backup runs by outcome and failure reason.',
      labelNames: [...labelNames, 'outcome', 'reason'],
      registers,
    }),
    bytes: new Counter({
      name: 'etcd_backup_bytes_total',
      help: 'Snapshot bytes stored by successful runs.',
      labelNames,
      registers,
    }),
    duration: new Histogram({
      name: 'etcd_backup_duration_seconds',
      help: 'How long a successful run took, from its start to its manifest.',
      labelNames,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'etcd_backup_last_success_timestamp_seconds',
      help: 'When the latest successful snapshot was taken (Unix time).',
      labelNames,
      registers,
    }),
  };
}
