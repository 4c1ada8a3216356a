/**
 * `Table` responses (what `kubectl get` asks for with `Accept: …;as=Table`): column definitions and
 * one row per object, with date columns rendered as kubectl's short durations, as the real server does.
 */
import { JSONPath } from 'jsonpath-plus';
import type { KubeObject } from './types.js';

export interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  cell(obj: KubeObject, now: Date): unknown;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** apimachinery's duration.HumanDuration: `34s`, `5m2s`, `3h`, `2d5h`, `1y20d`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
}

export function since(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
  return humanDuration(now.getTime() - Date.parse(timestamp));
}

const column = (
  name: string,
  cell: Column['cell'],
  rest: Partial<Omit<Column, 'name' | 'cell'>> = {},
): Column => ({ name, type: 'string', format: '', description: '', priority: 0, cell, ...rest });

const get = (obj: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, seg) => (node as Record<string, unknown> | undefined)?.[seg], obj);
const str = (v: unknown, fallback = '<none>'): string => {
  if (v === undefined || v === null || v === '') return fallback;
  return typeof v === 'object' ? JSON.stringify(v) : `${v as string | number | boolean}`;
};
const count = (v: unknown): number => (v && typeof v === 'object' ? Object.keys(v).length : 0);

export const NAME_COLUMN = column('Name', (o) => o.metadata.name, {
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
});
export const AGE_COLUMN = column('Age', (o, now) => since(o.metadata.creationTimestamp, now), {
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
});

interface ContainerStatus {
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string; exitCode?: number } };
}

function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const status = (pod.status ?? {}) as {
    phase?: string;
    reason?: string;
    containerStatuses?: ContainerStatus[];
  };
  let reason = status.reason ?? status.phase ?? 'Pending';
  for (const c of status.containerStatuses ?? []) {
    const waiting = c.state?.waiting?.reason;
    const terminated = c.state?.terminated;
    if (waiting) reason = waiting;
    else if (terminated) reason = terminated.reason ?? `ExitCode:${terminated.exitCode ?? 0}`;
  }
  return reason;
}

const podColumns: Column[] = [
  NAME_COLUMN,
  column('Ready', (o) => {
    const statuses = (get(o, 'status.containerStatuses') ?? []) as ContainerStatus[];
    const total = ((get(o, 'spec.containers') ?? []) as unknown[]).length;
    return `${statuses.filter((c) => c.ready).length}/${total}`;
  }),
  column('Status', podStatus),
  column('Restarts', (o) =>
    String(
      ((get(o, 'status.containerStatuses') ?? []) as ContainerStatus[]).reduce(
        (n, c) => n + (c.restartCount ?? 0),
        0,
      ),
    ),
  ),
  AGE_COLUMN,
  column('IP', (o) => str(get(o, 'status.podIP')), { priority: 1 }),
  column('Node', (o) => str(get(o, 'spec.nodeName')), { priority: 1 }),
  column('Nominated Node', (o) => str(get(o, 'status.nominatedNodeName')), { priority: 1 }),
  column('Readiness Gates', () => '<none>', { priority: 1 }),
];

function servicePorts(o: KubeObject): string {
  const ports = (get(o, 'spec.ports') ?? []) as { port?: number; protocol?: string; nodePort?: number }[];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function involved(o: KubeObject): string {
  const ref = (o.involvedObject ?? {}) as { kind?: string; name?: string };
  return `${(ref.kind ?? '').toLowerCase()}/${ref.name ?? ''}`;
}

/** Columns of the built-in kinds that have more than Name and Age. */
export const BUILTIN_COLUMNS: Record<string, Column[]> = {
  Pod: podColumns,
  Namespace: [NAME_COLUMN, column('Status', (o) => str(get(o, 'status.phase'), 'Active')), AGE_COLUMN],
  Service: [
    NAME_COLUMN,
    column('Type', (o) => str(get(o, 'spec.type'), 'ClusterIP')),
    column('Cluster-IP', (o) => str(get(o, 'spec.clusterIP'))),
    column('External-IP', () => '<none>'),
    column('Port(s)', servicePorts),
    AGE_COLUMN,
  ],
  ConfigMap: [
    NAME_COLUMN,
    column('Data', (o) => count(o.data) + count(o.binaryData), { type: 'integer' }),
    AGE_COLUMN,
  ],
  Secret: [
    NAME_COLUMN,
    column('Type', (o) => str(o.type, 'Opaque')),
    column('Data', (o) => count(o.data), { type: 'integer' }),
    AGE_COLUMN,
  ],
  PersistentVolumeClaim: [
    NAME_COLUMN,
    column('Status', (o) => str(get(o, 'status.phase'), 'Pending')),
    column('Volume', (o) => str(get(o, 'spec.volumeName'), '')),
    column('Capacity', (o) => str(get(o, 'status.capacity.storage'), '')),
    column('Access Modes', (o) => ((get(o, 'status.accessModes') ?? []) as string[]).join(',')),
    column('StorageClass', (o) => str(get(o, 'spec.storageClassName'))),
    AGE_COLUMN,
  ],
  Event: [
    column('Last Seen', (o, now) =>
      since(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp, now),
    ),
    column('Type', (o) => str(o.type, '')),
    column('Reason', (o) => str(o.reason, '')),
    column('Object', involved),
    column('Message', (o) => str(o.message, '')),
  ],
  Lease: [NAME_COLUMN, column('Holder', (o) => str(get(o, 'spec.holderIdentity'), '')), AGE_COLUMN],
  PodDisruptionBudget: [
    NAME_COLUMN,
    column('Min Available', (o) => str(get(o, 'spec.minAvailable'), 'N/A')),
    column('Max Unavailable', (o) => str(get(o, 'spec.maxUnavailable'), 'N/A')),
    column('Allowed Disruptions', (o) => Number(get(o, 'status.disruptionsAllowed') ?? 0), {
      type: 'integer',
    }),
    AGE_COLUMN,
  ],
};

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** A CRD's additionalPrinterColumns as Table columns (Name first, as the real server puts it). */
export function crdColumns(printerColumns: PrinterColumn[] | undefined): Column[] {
  if (!printerColumns || printerColumns.length === 0) return [NAME_COLUMN, AGE_COLUMN];
  return [
    NAME_COLUMN,
    ...printerColumns.map((pc) =>
      column(
        pc.name,
        (o, now) => {
          const values: unknown[] = JSONPath<unknown[]>({ path: `$${pc.jsonPath}`, json: o, wrap: true });
          const value = values[0];
          if (value === undefined || value === null) return null;
          return pc.type === 'date' ? since(value, now) : value;
        },
        {
          type: pc.type,
          format: pc.format ?? '',
          description:
            pc.description ?? `Custom resource definition column (in JSONPath format): ${pc.jsonPath}`,
          priority: pc.priority ?? 0,
        },
      ),
    ),
  ];
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: Omit<Column, 'cell'>[] | null;
  rows: { cells: unknown[]; object?: unknown }[];
}

export function toTable(
  columns: Column[],
  objects: KubeObject[],
  options: {
    now: Date;
    include: IncludeObject;
    headers: boolean;
    resourceVersion?: string;
    continue?: string;
  },
): Table {
  const defs = columns.map((c) => ({
    name: c.name,
    type: c.type,
    format: c.format,
    description: c.description,
    priority: c.priority,
  }));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {
      ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}),
      ...(options.continue ? { continue: options.continue } : {}),
    },
    columnDefinitions: options.headers ? defs : null,
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o, options.now) ?? null),
      ...(options.include === 'None'
        ? {}
        : {
            object:
              options.include === 'Object'
                ? o
                : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
          }),
    })),
  };
}
