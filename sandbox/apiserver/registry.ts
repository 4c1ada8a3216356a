/** The resources being served: the built-ins plus those of established CRDs. */
import { BUILTINS, SELF_SUBJECT_ACCESS_REVIEWS, storageKey, type ResourceDef } from './resources.js';
import { AGE_COLUMN, BUILTIN_COLUMNS, NAME_COLUMN } from './table.js';

export class Registry {
  private readonly defs: ResourceDef[] = [...BUILTINS, SELF_SUBJECT_ACCESS_REVIEWS].map((d) => ({
    ...d,
    columns: BUILTIN_COLUMNS[d.kind] ?? [NAME_COLUMN, AGE_COLUMN],
  }));
  /** CRD name → the definitions it serves. */
  private readonly custom = new Map<string, ResourceDef[]>();
  /** Rebuilt when a CRD changes: lookups happen on every request. */
  private cache?: { all: ResourceDef[]; byKey: Map<string, ResourceDef> };

  private index() {
    if (!this.cache) {
      const all = [...this.defs, ...[...this.custom.values()].flat()];
      const byKey = new Map<string, ResourceDef>();
      for (const d of all) if (!byKey.has(storageKey(d))) byKey.set(storageKey(d), d);
      this.cache = { all, byKey };
    }
    return this.cache;
  }

  all(): ResourceDef[] {
    return this.index().all;
  }

  find(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.all().find((d) => d.group === group && d.version === version && d.plural === plural);
  }

  /** Any served version of a group/plural (the storage identity). */
  byStorageKey(key: string): ResourceDef | undefined {
    return this.index().byKey.get(key);
  }

  byKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return this.all().find(
      (d) => d.kind === kind && (d.group === '' ? d.version : `${d.group}/${d.version}`) === apiVersion,
    );
  }

  /** The group versions served, in discovery order (core first). */
  groupVersions(): { group: string; versions: string[] }[] {
    const out: { group: string; versions: string[] }[] = [];
    for (const d of this.all()) {
      let g = out.find((x) => x.group === d.group);
      if (!g) out.push((g = { group: d.group, versions: [] }));
      if (!g.versions.includes(d.version)) g.versions.push(d.version);
    }
    return out;
  }

  serveCustom(crdName: string, defs: ResourceDef[]): void {
    this.custom.set(crdName, defs);
    this.cache = undefined;
  }

  unserveCustom(crdName: string): void {
    this.custom.delete(crdName);
    this.cache = undefined;
  }
}
