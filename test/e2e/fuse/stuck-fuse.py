#!/usr/bin/env python3
# A FUSE filesystem that never answers a READ: whoever reads its one file, /<mnt>/journal, sits in
# uninterruptible sleep (D state) and ignores SIGKILL, as a journalctl on a stalled disk or NFS does.
# Once the server has read the READ request, the kernel's request_wait_answer() waits for the answer
# uninterruptibly (fs/fuse/dev.c). No libfuse, no fusermount: mount(2) through ctypes (needs root and
# /dev/fuse; run it inside `unshare -m`). Killing this server closes /dev/fuse, which aborts the
# connection and frees the readers (ENOTCONN). Usage: stuck-fuse.py MOUNTPOINT; prints "ready".
import ctypes, os, struct, sys

mnt = sys.argv[1]
fd = os.open('/dev/fuse', os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
opts = f'fd={fd},rootmode=40000,user_id=0,group_id=0'.encode()
if libc.mount(b'stuck', mnt.encode(), b'fuse', 0, opts) != 0:
    sys.exit(f'mount: {os.strerror(ctypes.get_errno())}')

LOOKUP, FORGET, GETATTR, OPEN, READ, RELEASE, INIT, OPENDIR, RELEASEDIR, FLUSH, INTERRUPT = 1, 2, 3, 14, 15, 18, 26, 27, 29, 25, 36
IN_HEADER = struct.Struct('<IIQQIIII')  # len, opcode, unique, nodeid, uid, gid, pid, padding


def attr(ino, mode, size):
    # fuse_attr: ino size blocks atime mtime ctime (u64), atimensec mtimensec ctimensec mode nlink uid gid rdev blksize flags (u32)
    return struct.pack('<QQQQQQIIIIIIIIII', ino, size, 0, 0, 0, 0, 0, 0, 0, mode, 1, 0, 0, 0, 4096, 0)


def reply(unique, body=b'', error=0):
    os.write(fd, struct.pack('<IiQ', 16 + len(body), error, unique) + body)


print('ready', flush=True)
held = []  # READ requests never answered
while True:
    try:
        buf = os.read(fd, 1 << 20)
    except OSError:
        break
    length, opcode, unique, nodeid = IN_HEADER.unpack_from(buf)[:4]
    if opcode == INIT:
        major, minor, readahead = struct.unpack_from('<III', buf, IN_HEADER.size)
        # fuse_init_out (64 bytes): major minor max_readahead flags, max_background congestion_threshold (u16), max_write time_gran, ...
        reply(unique, struct.pack('<IIIIHHII', 7, 31, readahead, 0, 16, 12, 4096, 1) + bytes(32))
    elif opcode == LOOKUP:
        name = buf[IN_HEADER.size:length].rstrip(b'\0')
        if nodeid == 1 and name == b'journal':
            reply(unique, struct.pack('<QQQQII', 2, 0, 3600, 3600, 0, 0) + attr(2, 0o100444, 1 << 20))
        else:
            reply(unique, error=-2)
    elif opcode == GETATTR:
        a = attr(1, 0o040555, 0) if nodeid == 1 else attr(2, 0o100444, 1 << 20)
        reply(unique, struct.pack('<QII', 3600, 0, 0) + a)
    elif opcode in (OPEN, OPENDIR):
        reply(unique, struct.pack('<QII', 1, 1 if opcode == OPEN else 0, 0))  # FOPEN_DIRECT_IO: every read comes here
    elif opcode == READ:
        held.append(unique)  # never answered
    elif opcode in (FORGET, INTERRUPT):
        pass  # no reply expected (INTERRUPT: we do not let go)
    else:
        reply(unique, error=-38)  # ENOSYS
