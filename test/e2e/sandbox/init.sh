#!/bin/bash
# PID 1 of the sandbox's new pid+mount(+uts+ipc) namespaces, started by test/e2e/sandbox.ts through
# `unshare --pid --fork --mount --propagation private`. It prepares the mounts systemd needs and execs
# the real systemd in container mode.
#   init.sh STATE_DIR CGROUP_NAME UNIT_DIR      (env HIER: the cgroup hierarchies to join, space separated)
set -euo pipefail

# Everything below mounts over host paths; only in a private mount namespace is that harmless. Being PID 1
# of a new pid namespace is the proof that unshare ran first: refuse anything else (a quoting slip in the
# caller must not turn into mounts on the host).
[ "$$" -eq 1 ] || { echo "init.sh: refusing to run: not PID 1 of a new pid namespace" >&2; exit 1; }
[ $# -eq 3 ] || { echo "init.sh: usage: init.sh STATE_DIR CGROUP_NAME UNIT_DIR" >&2; exit 1; }
B=$1 CG=$2 UNITS=$3
case "$CG" in preflight-e2e-*) ;; *) echo "init.sh: refusing cgroup name '$CG'" >&2; exit 1 ;; esac
[ -n "${HIER:-}" ] || { echo "init.sh: HIER is empty" >&2; exit 1; }

# systemd remounts /sys/fs/cgroup read-only (a superblock-wide remount) and adds hierarchies there: give it
# a private tmpfs holding bind mounts of the host hierarchies, so the host's tmpfs is never touched.
mkdir -p "$B/oldcg"
mount --rbind /sys/fs/cgroup "$B/oldcg"
mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs /sys/fs/cgroup
for n in "$B"/oldcg/*; do
  n=${n##*/}
  if mountpoint -q "$B/oldcg/$n"; then
    mkdir "/sys/fs/cgroup/$n"
    mount --bind "$B/oldcg/$n" "/sys/fs/cgroup/$n"
  fi
done
umount -R "$B/oldcg"
rmdir "$B/oldcg"

# systemd takes the cgroup it starts in as its root: start it in the prepared subtree of every hierarchy
for h in $HIER; do echo $$ > "$h/$CG/cgroup.procs"; done

mount --bind "$B/journal" /var/log/journal         # the persistent journal lands in the state dir
mount --bind "$B/console" /dev/console             # keep PID 1 off the host's console
mount --bind "$B/system.conf" /etc/systemd/system.conf

# container= keeps systemd in container mode (no host setup, exits instead of powering off);
# SYSTEMD_UNIT_PATH names only the minimal unit set (the full set would run udev, tmpfiles, ...).
exec env -i container=preflight-e2e SYSTEMD_UNIT_PATH="$UNITS" LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /lib/systemd/systemd --system --unit=preflight-test.target
