/**
 * Authentication by bearer token. `admin` is always there, in system:masters. Over plain HTTP a
 * request without a token is admin (kubectl sends no token to an http:// server); over HTTPS it is
 * system:anonymous. A token nobody holds answers 401.
 */
import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../../lib/errors.js';
import { ApiError } from './status.js';
import type { UserInfo } from './types.js';

export interface Users {
  /** The user a request's Authorization header names. */
  authenticate(authorization: string | undefined): UserInfo;
  token(user: string): string;
}

export function users(
  spec: Record<string, { token?: string; groups?: string[] }>,
  anonymousIsAdmin: boolean,
): Users {
  const all = new Map<string, { token: string; groups: string[] }>();
  all.set('admin', {
    token: spec.admin?.token ?? randomBytes(16).toString('hex'),
    groups: ['system:masters'],
  });
  for (const [name, u] of Object.entries(spec)) {
    if (name === 'admin') continue;
    all.set(name, { token: u.token ?? randomBytes(16).toString('hex'), groups: u.groups ?? [] });
  }
  const byToken = new Map(
    [...all].map(([name, u]) => [u.token, { name, groups: [...u.groups, 'system:authenticated'] }]),
  );
  return {
    authenticate(authorization) {
      if (!authorization) {
        if (anonymousIsAdmin) return { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
        return { name: 'system:anonymous', groups: ['system:unauthenticated'] };
      }
      const token = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
      const user = token === undefined ? undefined : byToken.get(token);
      if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      return user;
    },
    token(user) {
      const u = all.get(user);
      if (!u) throw new NotFoundError(`no user "${user}" on this sandbox API server`);
      return u.token;
    },
  };
}
