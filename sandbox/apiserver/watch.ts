/**
 * Watch over HTTP: a chunked stream of `{"type","object"}` lines. Without a resourceVersion (or
 * with "0") the current objects come first as ADDED; otherwise the stream resumes after that
 * version, or sends a 410 ERROR event and ends when it is too old. Table watches (kubectl get -w)
 * get one-row Tables. BOOKMARKs go to clients that allow them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf, selectableFields, storageKey, type ResourceDef } from './resources.js';
import { isTrue } from './routes.js';
import { fieldPredicate, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, badRequest } from './status.js';
import type { Store } from './store.js';
import { toTable, type IncludeObject } from './table.js';
import type { KubeObject } from './types.js';
import type { Subscription, WatchHub } from './watch-hub.js';

export interface WatchRequest {
  def: ResourceDef;
  namespace?: string;
  query: URLSearchParams;
  table: boolean;
}

export interface WatchDeps {
  store: Store;
  hub: WatchHub;
  now: () => Date;
  bookmarkIntervalMs: number;
}

/** Serialized events, shared by every watch that sends the same stored object. */
const lines = new WeakMap<object, Map<string, string>>();

function eventLine(type: string, object: unknown): string {
  if (typeof object !== 'object' || object === null) return `${JSON.stringify({ type, object })}\n`;
  let byType = lines.get(object);
  if (!byType) lines.set(object, (byType = new Map<string, string>()));
  let line = byType.get(type);
  if (line === undefined) byType.set(type, (line = `${JSON.stringify({ type, object })}\n`));
  return line;
}

/** Validates the request and starts streaming; throws (before any byte is written) on a bad request. */
export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  w: WatchRequest,
  deps: WatchDeps,
): void {
  const { def, query } = w;
  const labels = parseLabelSelector(query.get('labelSelector') ?? undefined);
  const fields = fieldPredicate(
    parseFieldSelector(query.get('fieldSelector') ?? undefined),
    selectableFields(def),
  );
  const rvParam = query.get('resourceVersion') ?? '';
  const fromRV = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
  if (fromRV !== undefined && (!Number.isInteger(fromRV) || fromRV < 0)) {
    throw badRequest(
      `resourceVersion: Invalid value: "${rvParam}": strconv.ParseUint: parsing "${rvParam}": invalid syntax`,
    );
  }
  const timeout = Number(query.get('timeoutSeconds') ?? 0);
  const include: IncludeObject = query.get('includeObject') === 'Object' ? 'Object' : 'Metadata';
  const namespace = def.namespaced ? w.namespace : undefined;

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  let headers = true;
  const write = (type: string, object: unknown) => {
    if (res.writableEnded || res.destroyed) return;
    if (w.table && type !== 'ERROR' && type !== 'BOOKMARK') {
      const table = toTable(def.columns, [object as KubeObject], { now: deps.now(), include, headers });
      headers = false;
      res.write(`${JSON.stringify({ type, object: table })}\n`);
    } else res.write(eventLine(type, object));
  };
  const timers: NodeJS.Timeout[] = [];
  const sub: Subscription = {
    key: storageKey(def),
    ...(namespace !== undefined ? { namespace } : {}),
    predicate: (o) => labels(o) && fields(o),
    bookmarks: isTrue(query.get('allowWatchBookmarks')),
    send: (e) => write(e.type, e.object),
    bookmark: (rv) =>
      write('BOOKMARK', {
        kind: def.kind,
        apiVersion: apiVersionOf(def),
        metadata: { resourceVersion: String(rv) },
      }),
    close: (abrupt) => {
      if (abrupt) req.socket.destroy();
      else res.end();
    },
  };
  const finish = () => {
    deps.hub.unsubscribe(sub);
    for (const t of timers) clearTimeout(t);
  };
  res.on('close', finish);

  try {
    if (fromRV === undefined) {
      for (const o of deps.store.list(storageKey(def), namespace)) if (sub.predicate(o)) write('ADDED', o);
      deps.hub.subscribe(sub, deps.store.resourceVersion);
    } else deps.hub.subscribe(sub, fromRV);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    write('ERROR', err.toStatus());
    res.end();
    return;
  }
  if (timeout > 0) {
    timers.push(
      setTimeout(() => {
        if (sub.bookmarks) sub.bookmark(deps.store.resourceVersion);
        deps.hub.unsubscribe(sub);
        res.end();
      }, timeout * 1000),
    );
  }
  if (sub.bookmarks) {
    const interval = setInterval(() => sub.bookmark(deps.store.resourceVersion), deps.bookmarkIntervalMs);
    timers.push(interval);
  }
}
