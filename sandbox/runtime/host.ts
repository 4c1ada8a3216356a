/** What the runtime reads of this machine: its tools, its file system, whether it is root. */
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '../../lib/errors.js';
import type { FsView, Tools } from './launch.js';

const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findTools(): Tools {
  const find = (name: string) => {
    const dir = SEARCH.find((d) => existsSync(join(d, name)));
    if (dir === undefined)
      throw new NotFoundError(`the sandbox runtime needs "${name}" (util-linux/coreutils)`);
    return join(dir, name);
  };
  return {
    nsenter: find('nsenter'),
    unshare: find('unshare'),
    sh: find('sh'),
    mount: find('mount'),
    mkdir: find('mkdir'),
    touch: find('touch'),
    ln: find('ln'),
    hostname: find('hostname'),
  };
}

export const hostFs: FsView = {
  kind(path) {
    try {
      return statSync(path).isDirectory() ? 'dir' : 'file';
    } catch {
      return undefined;
    }
  },
  realpath: (path) => realpathSync(path),
  rootEntries() {
    return readdirSync('/')
      .filter((name) => !name.startsWith('.'))
      .flatMap((name): ReturnType<FsView['rootEntries']> => {
        const path = `/${name}`;
        try {
          const st = lstatSync(path);
          if (st.isSymbolicLink()) return [{ name, kind: 'symlink', target: readlinkSync(path) }];
          return [{ name, kind: st.isDirectory() ? 'dir' : 'file' }];
        } catch {
          return [];
        }
      });
  },
};

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
