// Which process holds a listening socket: the pid whose fd links include the socket's inode. Only
// processes we may ptrace can be read (ours, or all of them as root), so the search is over the
// socket owner's uid (from /proc/net) and bounded in pids and time; anything else is "not found".
import { readdirSync, statSync } from 'node:fs';
import { socketInodes } from './sockets';

export interface PortOwnerLimits {
  /** pids looked at, at most */
  maxPids: number;
  /** wall time spent, at most */
  maxMs: number;
}

export const PORT_OWNER_LIMITS: PortOwnerLimits = { maxPids: 4096, maxMs: 200 };

/**
 * The pid holding socket `inode` (owned by `uid`), or undefined when it cannot be found within the
 * limits: another user's process without root, too many processes, a pid that exited meanwhile.
 */
export function ownerOfSocket(inode: number, uid: number, root = '/proc', limits: PortOwnerLimits = PORT_OWNER_LIMITS): number | undefined {
  const me = typeof process.getuid === 'function' ? process.getuid() : -1;
  // another user's descriptors are not ours to read
  if (me !== 0 && me !== uid) return undefined;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return undefined;
  }
  const deadline = performance.now() + limits.maxMs;
  let looked = 0;
  // the newest pids first: a service restarted a moment ago is near the end
  const pids = names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => b - a);
  for (const pid of pids) {
    if (looked++ >= limits.maxPids || performance.now() > deadline) return undefined;
    try {
      if (statSync(`${root}/${pid}`).uid !== uid) continue;
    } catch {
      continue;
    }
    const fds = socketInodes(pid, root);
    if (fds.ok && fds.inodes.includes(inode)) return pid;
  }
  return undefined;
}
