/** Test hook: every request the server answered, and counters over them. */

export interface RequestRecord {
  method: string;
  path: string;
  /** get, list, watch, create, update, patch, delete, deletecollection (or the HTTP method for other paths). */
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user: string;
  /** The HTTP status answered (101 for upgraded connections). */
  code: number;
  watch: boolean;
}

export type RequestFilter = Partial<Omit<RequestRecord, 'path' | 'method'>>;

export class RequestLog {
  readonly entries: RequestRecord[] = [];

  record(r: RequestRecord): void {
    this.entries.push(r);
  }

  /** The records matching every given field. */
  filter(f: RequestFilter = {}): RequestRecord[] {
    return this.entries.filter((r) =>
      Object.entries(f).every(([k, v]) => v === undefined || r[k as keyof RequestRecord] === v),
    );
  }

  count(f: RequestFilter = {}): number {
    return this.filter(f).length;
  }

  /** Counts by a field, e.g. `countBy('verb')` → `{ list: 3, watch: 2 }`. */
  countBy(field: 'verb' | 'resource' | 'user' | 'code', f: RequestFilter = {}): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.filter(f)) {
      const key = String(r[field] ?? '');
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  clear(): void {
    this.entries.length = 0;
  }
}
