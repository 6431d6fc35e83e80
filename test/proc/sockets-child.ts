// Helper for test/proc/sockets.test.ts, run as a child process (not a test), usually as another user:
// prints socketInodes(argv[2]) and listenersOf([argv[2]]) as one JSON line.
import { listenersOf, socketInodes } from '../../src/proc/sockets';

const pid = Number(process.argv[2]);
process.stdout.write(`${JSON.stringify({ inodes: socketInodes(pid), of: listenersOf([pid]) })}\n`);
