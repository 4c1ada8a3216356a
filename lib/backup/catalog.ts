/** The backups of a cluster in a store: the snapshots that have a valid manifest beside them. */
import { text } from 'node:stream/consumers';
import { SnapshotIntegrityError } from '../errors.js';
import { isManifestKey, manifestKey, parseManifest, type BackupManifest } from './manifest.js';
import type { SnapshotStore } from './store.js';

export interface Catalog {
  /** Complete backups, newest first. */
  backups: BackupManifest[];
  /** Objects that are not part of a complete backup (interrupted runs, unreadable manifests). */
  orphans: string[];
}

export async function readCatalog(store: SnapshotStore, cluster: string): Promise<Catalog> {
  const objects = await store.list(`${cluster}/`);
  const names = new Set(objects.map((o) => o.name));
  const backups: BackupManifest[] = [];
  const claimed = new Set<string>();
  for (const name of [...names].filter(isManifestKey)) {
    try {
      const manifest = parseManifest(name, await text(await store.get(name)));
      if (!names.has(manifest.snapshot) || manifestKey(manifest.snapshot) !== name) continue;
      backups.push(manifest);
      claimed.add(name).add(manifest.snapshot);
    } catch (err) {
      if (!(err instanceof SnapshotIntegrityError)) throw err;
    }
  }
  backups.sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  return { backups, orphans: [...names].filter((n) => !claimed.has(n)).sort() };
}
