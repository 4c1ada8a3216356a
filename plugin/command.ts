/**
 * What command handlers share: a session for the length of one command, a connection for the
 * length of one use, every cluster in scope. The heavy half (plugin/core.ts) loads here, on first use.
 */
import type { EtcdConnection, EtcdTarget } from '../lib/access/index.js';
import type { GlobalArgs } from './options.js';
import type { Session } from './session.js';

export async function withSession<T>(args: GlobalArgs, use: (session: Session) => Promise<T>): Promise<T> {
  const { openSession } = await import('./core.js');
  const session = openSession(args);
  try {
    return await use(session);
  } finally {
    session.close();
  }
}

export async function withConnection<T>(
  session: Session,
  target: EtcdTarget,
  use: (connection: EtcdConnection) => Promise<T>,
  options: { signal?: AbortSignal; defragmentTimeoutMs?: number } = {},
): Promise<T> {
  const connection = await session.connect(target, options);
  try {
    return await use(connection);
  } catch (err) {
    throw connection.explain(err);
  } finally {
    await connection.close();
  }
}

/**
 * `use` on each cluster in scope (the one named, else every one), their results in one list; an
 * empty scope says so as kubectl does and gives undefined.
 */
export async function acrossClusters<T>(
  session: Session,
  name: string | undefined,
  use: (connection: EtcdConnection) => Promise<T[]>,
): Promise<T[] | undefined> {
  const targets = await session.targets(name);
  if (targets.length === 0) {
    nothingFound(session);
    return undefined;
  }
  return (await Promise.all(targets.map((target) => withConnection(session, target, use)))).flat();
}

/** kubectl's words when a list is empty (on stderr, exit 0). */
export function nothingFound(session: Pick<Session, 'namespace' | 'allNamespaces'>): void {
  process.stderr.write(
    session.allNamespaces
      ? 'No etcd clusters found.\n'
      : `No etcd clusters found in ${session.namespace} namespace.\n`,
  );
}
