/**
 * What kube-controller-manager would do for the objects stored here: owner-reference garbage
 * collection (background and foreground), namespace finalization (delete the contents, then the
 * namespace) and each namespace's `default` ServiceAccount. A pass runs soon after any change that
 * may give it work, and repeats until nothing changes.
 */
import type { Objects, WriteContext } from './objects.js';
import type { Registry } from './registry.js';
import { storageKey } from './resources.js';
import type { Store, StoreEvent } from './store.js';
import type { KubeObject } from './types.js';

const MAX_ROUNDS = 50;
const NAMESPACES = storageKey({ group: '', plural: 'namespaces' });

export class Controllers {
  private scheduled = false;
  private stopped = false;
  /** Namespaces being deleted: any change inside them may finish the deletion. */
  private readonly terminating = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly objects: Objects,
    private readonly ctx: WriteContext,
  ) {}

  /** Schedules a pass when a change may give the controllers work; most writes do not. */
  onChange(e: StoreEvent): void {
    const meta = e.object.metadata;
    const relevant =
      e.type === 'DELETED' ||
      meta.deletionTimestamp !== undefined ||
      meta.ownerReferences !== undefined ||
      e.key === NAMESPACES ||
      (meta.namespace !== undefined && this.terminating.has(meta.namespace));
    if (e.key === NAMESPACES) {
      if (meta.deletionTimestamp && e.type !== 'DELETED') this.terminating.add(meta.name ?? '');
      else this.terminating.delete(meta.name ?? '');
    }
    if (relevant) this.kick();
  }

  kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.run();
    });
  }

  stop(): void {
    this.stopped = true;
  }

  /** Passes until one changes nothing. */
  run(): void {
    for (let round = 0; round < MAX_ROUNDS && this.pass(); round++);
  }

  /** One pass over every object; true when it changed something. */
  private pass(): boolean {
    const entries = [...this.store.entries()];
    const live = new Set(entries.map(([, o]) => o.metadata.uid));
    const dependents = new Map<string, [string, KubeObject][]>();
    for (const entry of entries) {
      for (const ref of entry[1].metadata.ownerReferences ?? []) {
        const list = dependents.get(ref.uid) ?? [];
        list.push(entry);
        dependents.set(ref.uid, list);
      }
    }
    let changed = false;
    for (const [key, o] of entries) {
      const def = this.registry.byStorageKey(key);
      if (!def || !this.store.get(key, o.metadata.namespace, o.metadata.name ?? '')) continue;
      const meta = o.metadata;
      if (meta.deletionTimestamp && (meta.finalizers ?? []).includes('foregroundDeletion')) {
        const mine = dependents.get(meta.uid ?? '') ?? [];
        if (mine.length === 0) {
          const next = structuredClone(o);
          next.metadata.finalizers = (meta.finalizers ?? []).filter((f) => f !== 'foregroundDeletion');
          this.objects.commit(def, o, next, this.ctx);
          changed = true;
        }
        for (const [k, d] of mine) {
          if (d.metadata.deletionTimestamp) continue;
          this.deleteQuietly(k, d, 'Foreground');
          changed = true;
        }
        continue;
      }
      const refs = meta.ownerReferences ?? [];
      if (refs.length > 0 && !meta.deletionTimestamp && refs.every((r) => !live.has(r.uid))) {
        this.deleteQuietly(key, o, 'Background');
        changed = true;
      }
      if (def.kind === 'Namespace' && def.group === '') changed = this.namespace(o, entries) || changed;
    }
    return changed;
  }

  /** A Terminating namespace loses its contents, then goes; a new one gets its default ServiceAccount. */
  private namespace(ns: KubeObject, entries: [string, KubeObject][]): boolean {
    const name = ns.metadata.name ?? '';
    const namespaces = this.registry.byStorageKey(storageKey({ group: '', plural: 'namespaces' }));
    if (!namespaces) return false;
    if (!ns.metadata.deletionTimestamp) {
      if (this.store.get(storageKey({ group: '', plural: 'serviceaccounts' }), name, 'default')) return false;
      const sa = this.registry.byStorageKey(storageKey({ group: '', plural: 'serviceaccounts' }));
      if (!sa) return false;
      this.objects.create(
        sa,
        name,
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } },
        this.ctx,
      );
      return true;
    }
    const contents = entries.filter(([, o]) => o.metadata.namespace === name && o !== ns);
    for (const [key, o] of contents)
      if (!o.metadata.deletionTimestamp) this.deleteQuietly(key, o, 'Background');
    const remaining = contents.filter(([key, o]) => this.store.get(key, name, o.metadata.name ?? ''));
    if (remaining.length > 0) return contents.some(([, o]) => !o.metadata.deletionTimestamp);
    this.objects.remove(namespaces, ns, this.ctx);
    return true;
  }

  private deleteQuietly(key: string, o: KubeObject, propagationPolicy: 'Background' | 'Foreground'): void {
    const def = this.registry.byStorageKey(key);
    if (!def) return;
    try {
      this.objects.delete(def, o.metadata.namespace, o.metadata.name ?? '', { propagationPolicy }, this.ctx);
    } catch {
      // Gone meanwhile (a cascade reached it first): nothing to do.
    }
  }
}
