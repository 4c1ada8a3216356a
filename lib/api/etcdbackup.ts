/** EtcdBackup: parse with defaults and schema validation, plus the rules a schema cannot say. */
import { CronExpressionParser } from 'cron-parser';
import type { EtcdBackup } from '../../generated/types.js';
import { validateEtcdBackup } from '../../generated/validators.js';
import { validateEtcdBackupSchema } from '../../generated/validation-schemas.js';
import { dns1035LabelProblem, dns1123SubdomainProblem } from './names.js';
import { Problems } from './problems.js';
import { parseResource, type Parsed } from './resource.js';
import { MAX_CLUSTER_NAME } from './etcdcluster.js';
import { checkStorageLocation } from './storage-names.js';

/** Parses a manifest as the API server would store it; throws a ValidationError naming every wrong field. */
export function parseEtcdBackup(input: unknown): Parsed<EtcdBackup> {
  return parseResource<EtcdBackup>(
    input,
    'EtcdBackup',
    validateEtcdBackup,
    validateEtcdBackupSchema,
    checkBackup,
  );
}

function checkBackup(backup: EtcdBackup, p: Problems): void {
  const { spec } = backup;
  const name = backup.metadata.name;
  if (name !== undefined) {
    const problem = dns1123SubdomainProblem(name);
    if (problem) p.invalid('metadata.name', problem);
  }
  const clusterProblem = dns1035LabelProblem(spec.clusterName, MAX_CLUSTER_NAME);
  if (clusterProblem) p.invalid('spec.clusterName', `is not an EtcdCluster name: ${clusterProblem}`);
  checkStorageLocation(spec.storage, 'spec.storage', p);

  if (spec.schedule !== undefined) {
    const problem = cronProblem(spec.schedule);
    if (problem) p.invalid('spec.schedule', problem);
  } else {
    if (spec.retention !== undefined)
      p.forbidden('spec.retention', 'applies only to scheduled backups: set spec.schedule');
    if (spec.suspend) p.warn('spec.suspend', 'has no effect without spec.schedule');
  }
}

/** The problem with a five-field cron expression (or a macro such as @daily), or undefined. */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (!expression.startsWith('@') && fields.length !== 5) {
    return `must have 5 fields (minute hour day-of-month month day-of-week), not ${fields.length}`;
  }
  try {
    CronExpressionParser.parse(expression, { strict: false });
    return undefined;
  } catch (err) {
    return `is not a valid cron schedule: ${(err as Error).message}`;
  }
}

/** The rules for changing a stored backup into `next` (both already parsed); throws a ValidationError. */
export function validateEtcdBackupUpdate(previous: EtcdBackup, next: EtcdBackup): void {
  const p = new Problems();
  if (previous.spec.clusterName !== next.spec.clusterName) p.forbidden('spec.clusterName', 'is immutable');
  if ((previous.spec.schedule === undefined) !== (next.spec.schedule === undefined)) {
    p.forbidden(
      'spec.schedule',
      'may be changed but not added to or removed from a backup: create a new EtcdBackup',
    );
  }
  p.throwIfAny('EtcdBackup');
}
