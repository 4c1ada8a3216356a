/**
 * Execute: carries out one plan — certificates, owned objects, the member resources, then at most
 * one membership change — and reports the status. Every step is idempotent, so a pass interrupted
 * anywhere is finished by the next one, which re-reads the world.
 */
import type { EtcdCluster } from '../api/index.js';
import type { EtcdAdmin } from '../etcd/index.js';
import {
  AlreadyExistsError,
  LearnerNotInSyncError,
  TerminalError,
  UnavailableError,
  hasCause,
  isNotFound,
} from '../errors.js';
import type { KubeReader, KubeStatusWriter, KubeWriter } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import { addFinalizer, removeFinalizer } from '../kube/finalizers.js';
import type { Logger } from '../kube/logger.js';
import {
  EtcdClusters,
  PersistentVolumeClaims,
  PodDisruptionBudgets,
  Pods,
  Secrets,
  Services,
  type KubeObject,
  type ResourceType,
  type Secret,
} from '../kube/resources.js';
import type { KeyObject } from 'node:crypto';
import {
  buildCaSecret,
  buildTlsSecret,
  issueClusterCertificates,
  planClusterCertificates,
  readTlsSecret,
  type KeyPair,
} from '../tls/index.js';
import { isSubset } from './compare.js';
import { FINALIZER, claimName, clusterNames, commonLabels, type ClusterNames } from './naming.js';
import type { Observation } from './observe.js';
import type { CertificateWork, MembershipChange, Plan, ResourceChange } from './plan.js';
import { REQUEUE } from './plan.js';
import { clientService, ownerReference, peerService, podDisruptionBudget } from './resources.js';
import { computeStatus } from './status.js';

export interface ExecuteDeps {
  client: KubeWriter & KubeStatusWriter;
  cache: KubeReader;
  recorder: EventRecorder;
  logger: Logger;
  /** Server-side apply's owner of the fields the operator sets. */
  fieldManager: string;
  /** Where certificate keys come from (a KeyPool's take); made on demand when absent. */
  privateKeys?: (count: number) => Promise<KeyObject[]>;
  /** Test hook: called at named points between non-idempotent steps, to crash the operator there. */
  failpoint?: (name: 'after-member-add') => void | Promise<void>;
}

/** Carries out `plan`; returns when the cluster should be looked at again. */
export async function execute(observation: Observation, plan: Plan, deps: ExecuteDeps): Promise<number> {
  const { observed, admin } = observation;
  const cluster = observed.cluster;
  const names = clusterNames(cluster);

  if (plan.situation.phase === 'Deleting') {
    await applyResources(cluster, names, plan.resources, deps);
    await removeFinalizer(deps.client, EtcdClusters, cluster, FINALIZER);
    return plan.requeueAfterMs;
  }
  const current = await addFinalizer(deps.client, EtcdClusters, cluster, FINALIZER);
  await writeStatus(current, computeStatus(observed, plan), deps);
  if (plan.situation.phase === 'Paused') return plan.requeueAfterMs;
  // After the status, which pins the snapshot the members are about to restore.
  const restoreEvent = plan.restore?.event;
  if (restoreEvent)
    await deps.recorder.event(cluster, restoreEvent.type, restoreEvent.reason, restoreEvent.message);

  if (plan.certificates) await issueCertificates(cluster, names, plan.certificates, observed.secrets, deps);
  await ensureOwnedObjects(cluster, names, deps);
  await applyResources(cluster, names, plan.resources, deps);
  if (plan.membership && admin) return changeMembership(cluster, names, admin, plan.membership, plan, deps);
  return plan.requeueAfterMs;
}

async function writeStatus(
  cluster: EtcdCluster,
  status: EtcdCluster['status'],
  deps: ExecuteDeps,
): Promise<void> {
  if (JSON.stringify(cluster.status ?? {}) === JSON.stringify(status)) return;
  await deps.client.patch(
    EtcdClusters,
    { namespace: cluster.metadata.namespace ?? '', name: cluster.metadata.name ?? '' },
    { type: 'merge', body: { status } },
    { subresource: 'status', fieldManager: deps.fieldManager },
  );
}

// --- certificates ----------------------------------------------------------------------------

async function issueCertificates(
  cluster: EtcdCluster,
  names: ClusterNames,
  work: CertificateWork,
  secrets: Map<string, Secret>,
  deps: ExecuteDeps,
): Promise<void> {
  const certs = planClusterCertificates(cluster, {
    name: names.cluster,
    namespace: names.namespace,
    peerServiceName: names.peerService,
    clientServiceName: names.clientService,
  });
  if (!certs?.ca) return;
  const metadata = { labels: commonLabels(names), ownerReferences: [ownerReference(cluster)] };
  let stored: KeyPair | undefined;
  if (!work.createCA) {
    const secret = secrets.get(certs.ca.secretName);
    if (!secret) throw new Error(`Secret ${certs.ca.secretName} vanished while issuing certificates`);
    stored = readTlsSecret(secret);
  }
  // A new CA invalidates every leaf signed by the old one.
  const roles = new Set(work.createCA ? certs.leaves.map((l) => l.role) : work.reissue.map((r) => r.role));
  const leaves = certs.leaves.filter((l) => roles.has(l.role));
  const issued = await issueClusterCertificates(stored ?? certs.ca, leaves, {
    ...(deps.privateKeys ? { privateKeys: deps.privateKeys } : {}),
  });
  if (work.createCA) {
    await deps.client.apply(
      Secrets,
      buildCaSecret(certs.ca.secretName, names.namespace, issued.ca, metadata),
      { fieldManager: deps.fieldManager, force: true },
    );
  }
  for (const [i, leaf] of leaves.entries()) {
    const secret = buildTlsSecret(leaf.secretName, names.namespace, issued.leaves[i]!, metadata);
    await deps.client.apply(Secrets, secret, { fieldManager: deps.fieldManager, force: true });
    const why = work.reissue.find((r) => r.role === leaf.role)?.message ?? 'a new CA';
    await deps.recorder.event(
      cluster,
      'Normal',
      'CertificateIssued',
      `issued the ${leaf.role} certificate (${why})`,
    );
  }
}

// --- owned objects: Services and the PodDisruptionBudget --------------------------------------

async function ensureOwnedObjects(
  cluster: EtcdCluster,
  names: ClusterNames,
  deps: ExecuteDeps,
): Promise<void> {
  const desired: [ResourceType, KubeObject][] = [
    [Services, peerService(cluster, names)],
    [Services, clientService(cluster, names)],
    [PodDisruptionBudgets, podDisruptionBudget(cluster, names)],
  ];
  for (const [type, obj] of desired) {
    const key = { namespace: names.namespace, name: obj.metadata?.name ?? '' };
    const existing = await deps.cache.get(type, key).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!existing || !isSubset(obj, existing)) {
      await deps.client.apply(type, obj, { fieldManager: deps.fieldManager, force: true });
    }
  }
}

// --- member resources ------------------------------------------------------------------------

async function applyResources(
  cluster: EtcdCluster,
  names: ClusterNames,
  changes: readonly ResourceChange[],
  deps: ExecuteDeps,
): Promise<void> {
  for (const change of changes) {
    const key = (name: string) => ({ namespace: names.namespace, name });
    switch (change.kind) {
      case 'CreateClaim':
        await createOwned(PersistentVolumeClaims, change.claim, cluster, deps);
        break;
      case 'CreatePod':
        await createOwned(Pods, change.pod, cluster, deps);
        if (change.reason === 'Restore') {
          await deps.recorder.event(
            cluster,
            'Normal',
            'MemberPodRecreated',
            `recreated pod ${change.pod.metadata?.name} over its data`,
          );
        }
        break;
      case 'DeletePod':
        await ignoreMissing(deps.client.delete(Pods, key(change.name)));
        deps.logger.info({ pod: change.name, reason: change.reason }, 'deleted member pod');
        break;
      case 'DeleteClaim':
        await ignoreMissing(deps.client.delete(PersistentVolumeClaims, key(change.name)));
        break;
      case 'ReleaseClaim':
        await ignoreMissing(
          deps.client.patch(PersistentVolumeClaims, key(change.name), {
            type: 'json',
            ops: [{ op: 'remove', path: '/metadata/ownerReferences' }],
          }),
        );
        await deps.recorder.event(
          cluster,
          'Normal',
          'ClaimRetained',
          `kept claim ${change.name} (reclaimPolicy Retain)`,
        );
        break;
      default:
        assertNever(change);
    }
  }
}

/**
 * Creates an object the cluster owns. An existing one of that name is fine only if the cluster owns
 * it (the cache lagged behind an earlier create); anything else would mix someone else's data in.
 */
async function createOwned<T extends KubeObject>(
  type: ResourceType<T>,
  obj: T,
  cluster: EtcdCluster,
  deps: ExecuteDeps,
): Promise<void> {
  try {
    await deps.client.create(type, obj, { fieldManager: deps.fieldManager });
  } catch (err) {
    if (!hasCause(err, AlreadyExistsError)) throw err;
    const key = { namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
    const existing = await deps.cache.get(type, key).catch(() => undefined);
    const owned = existing?.metadata?.ownerReferences?.some((r) => r.uid === cluster.metadata.uid);
    if (existing && !owned) {
      throw new TerminalError(
        `${type.kind} ${key.name} already exists and does not belong to EtcdCluster ${cluster.metadata.name}`,
        { cause: err },
      );
    }
  }
}

// --- the one membership change ---------------------------------------------------------------

async function changeMembership(
  cluster: EtcdCluster,
  names: ClusterNames,
  admin: EtcdAdmin,
  change: MembershipChange,
  plan: Plan,
  deps: ExecuteDeps,
): Promise<number> {
  const log = deps.logger.child({
    change: change.kind,
    member: 'member' in change ? change.member : change.to,
  });
  switch (change.kind) {
    case 'AddLearner': {
      let added;
      try {
        added = await admin.memberAdd([change.peerURL], { learner: true });
      } catch (err) {
        // etcd refuses membership changes until its leader has had a quorum for a few seconds.
        if (!hasCause(err, UnavailableError)) throw err;
        log.debug({ err: (err as Error).message }, 'etcd refused the member add for now');
        return REQUEUE.waiting;
      }
      log.info({ id: added.member.id }, 'added learner');
      await deps.recorder.event(
        cluster,
        'Normal',
        'MemberAdded',
        `added ${change.member} (${added.member.id}) as a learner`,
      );
      await deps.failpoint?.('after-member-add');
      await applyResources(cluster, names, change.then, deps);
      return REQUEUE.busy;
    }
    case 'Promote':
      try {
        await admin.memberPromote(change.id);
      } catch (err) {
        if (!hasCause(err, LearnerNotInSyncError)) throw err;
        log.debug({}, 'learner still catching up');
        return REQUEUE.busy;
      }
      log.info({ id: change.id }, 'promoted learner');
      await deps.recorder.event(
        cluster,
        'Normal',
        'MemberPromoted',
        `promoted ${change.member} (${change.id}) to a voting member`,
      );
      return REQUEUE.busy;
    case 'MoveLeader':
      await admin.moveLeader(change.toId);
      log.info({ from: change.from, to: change.to }, 'moved leadership');
      await deps.recorder.event(
        cluster,
        'Normal',
        'LeaderMoved',
        `moved leadership from ${change.from} to ${change.to}`,
      );
      return REQUEUE.busy;
    case 'Remove': {
      await admin.memberRemove(change.id);
      log.info({ id: change.id, reason: change.reason }, 'removed member');
      const why = {
        ScaleDown: 'scaling down',
        DataLost: 'its data is gone',
        Unhealthy: 'unhealthy too long',
      }[change.reason];
      await deps.recorder.event(
        cluster,
        change.reason === 'ScaleDown' ? 'Normal' : 'Warning',
        'MemberRemoved',
        `removed ${change.member} (${change.id}): ${why}`,
      );
      // The member is gone from etcd: its pod and claim follow at once (or on the next pass).
      const disposal = cluster.spec.storage.reclaimPolicy === 'Delete' ? 'DeleteClaim' : 'ReleaseClaim';
      await applyResources(
        cluster,
        names,
        [
          { kind: 'DeletePod', name: change.member, reason: 'removed from etcd' },
          ...(cluster.spec.storage.type === 'PersistentVolumeClaim'
            ? [{ kind: disposal, name: claimName(change.member) } as ResourceChange]
            : []),
        ],
        deps,
      );
      return REQUEUE.busy;
    }
    default:
      assertNever(change);
  }
  return plan.requeueAfterMs;
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled ${JSON.stringify(x)}`);
}
