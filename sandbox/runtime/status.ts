/**
 * The pod status the kubelet reports, computed from what the runtime knows of its containers. Pure:
 * the previous status is only read to keep each condition's lastTransitionTime while it holds.
 */
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1PodCondition,
  V1PodStatus,
} from '@kubernetes/client-node';
import type { RestartPolicy } from './backoff.js';

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: Date }
  | {
      kind: 'terminated';
      exitCode: number;
      signal?: number;
      reason: string;
      message?: string;
      startedAt: Date;
      finishedAt: Date;
    };

export interface ContainerRecord {
  name: string;
  image: string;
  state: ContainerState;
  /** The previous run's end, once the container has restarted. */
  lastState?: Extract<ContainerState, { kind: 'terminated' }>;
  restartCount: number;
  ready: boolean;
  /** Whether the startup probe passed (true without one) while running. */
  started: boolean;
  containerID?: string;
}

export interface PodRecord {
  init: ContainerRecord[];
  containers: ContainerRecord[];
  initDone: boolean;
  /** An init container failed and the pod never restarts: the pod has failed for good. */
  initFailed: boolean;
  podIP?: string;
  hostIP: string;
  startTime?: Date;
  /** Why the pod cannot start at all (e.g. a missing claim), shown on its PodScheduled/Initialized… */
  message?: string;
}

export function podPhase(record: PodRecord, restartPolicy: RestartPolicy): NonNullable<V1PodStatus['phase']> {
  if (record.initFailed) return 'Failed';
  if (!record.initDone) return 'Pending';
  const everStarted = (c: ContainerRecord) => c.state.kind !== 'waiting' || c.lastState !== undefined;
  if (!record.containers.every(everStarted)) return 'Pending';
  const finished = (c: ContainerRecord) =>
    c.state.kind === 'terminated' &&
    (restartPolicy === 'Never' || (restartPolicy === 'OnFailure' && c.state.exitCode === 0));
  if (record.containers.length > 0 && record.containers.every(finished)) {
    return record.containers.every((c) => c.state.kind === 'terminated' && c.state.exitCode === 0)
      ? 'Succeeded'
      : 'Failed';
  }
  return 'Running';
}

export function podStatus(
  record: PodRecord,
  restartPolicy: RestartPolicy,
  previous: V1PodStatus | undefined,
  now: Date,
): V1PodStatus {
  const phase = podPhase(record, restartPolicy);
  const containersReady = record.initDone && record.containers.every((c) => c.ready);
  const condition = (type: string, ok: boolean, reason?: string): V1PodCondition => {
    const status = ok ? 'True' : 'False';
    const before = previous?.conditions?.find((c) => c.type === type);
    return {
      type,
      status,
      lastTransitionTime:
        before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
      ...(ok || reason === undefined ? {} : { reason }),
    };
  };
  const completed = phase === 'Succeeded' || phase === 'Failed';
  return {
    phase,
    conditions: [
      condition('PodScheduled', true),
      condition('Initialized', record.initDone, 'ContainersNotInitialized'),
      condition(
        'ContainersReady',
        containersReady && !completed,
        completed ? 'PodCompleted' : 'ContainersNotReady',
      ),
      condition('Ready', containersReady && !completed, completed ? 'PodCompleted' : 'ContainersNotReady'),
    ],
    hostIP: record.hostIP,
    hostIPs: [{ ip: record.hostIP }],
    ...(record.podIP ? { podIP: record.podIP, podIPs: [{ ip: record.podIP }] } : {}),
    ...(record.startTime ? { startTime: record.startTime } : {}),
    ...(record.message ? { message: record.message } : {}),
    ...(record.init.length > 0 ? { initContainerStatuses: record.init.map(containerStatus) } : {}),
    containerStatuses: record.containers.map(containerStatus),
    qosClass: 'BestEffort',
  };
}

function containerStatus(c: ContainerRecord): V1ContainerStatus {
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    ...(c.containerID ? { containerID: c.containerID } : {}),
    ready: c.ready,
    started: c.state.kind === 'running' && c.started,
    restartCount: c.restartCount,
    state: toState(c.state),
    lastState: c.lastState ? toState(c.lastState) : {},
  };
}

function toState(s: ContainerState): V1ContainerState {
  switch (s.kind) {
    case 'waiting':
      return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
    case 'running':
      return { running: { startedAt: s.startedAt } };
    case 'terminated':
      return {
        terminated: {
          exitCode: s.exitCode,
          ...(s.signal !== undefined ? { signal: s.signal } : {}),
          reason: s.reason,
          ...(s.message ? { message: s.message } : {}),
          startedAt: s.startedAt,
          finishedAt: s.finishedAt,
        },
      };
  }
}
