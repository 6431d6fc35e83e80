#!/usr/bin/env bash
# Find promtool, or install Debian's `prometheus` package to get it (CI runs as root on Debian).
# Prints promtool's path on stdout and exits 0; otherwise exits 1 with one line saying why on stderr,
# and the metrics test skips with that line.
#
# The package ships a prometheus server whose postinst starts it (invoke-rc.d, and deb-systemd-invoke
# where systemd runs) and enables it at boot. We only want promtool: during the install a policy-rc.d
# that answers 101 ("action forbidden") makes both refuse to start it, and afterwards the boot-time
# start is disabled again. Nothing is left running. PREFLIGHT_NO_PROMTOOL_INSTALL=1 forbids installing.
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }

if p=$(command -v promtool 2>/dev/null); then
  printf '%s\n' "$p"
  exit 0
fi
if [[ -n "${PREFLIGHT_NO_PROMTOOL_INSTALL:-}" ]]; then
  say "promtool not found and PREFLIGHT_NO_PROMTOOL_INSTALL is set"
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  say "promtool not found and not root, so Debian's prometheus package cannot be installed (apt-get install --no-install-recommends prometheus)"
  exit 1
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  say "promtool not found and no apt-get/dpkg to install Debian's prometheus package"
  exit 1
fi

policy=/usr/sbin/policy-rc.d
saved=""
restore() {
  rm -f "$policy"
  if [[ -n "$saved" ]]; then mv -f "$saved" "$policy"; fi
}
if [[ -e "$policy" || -L "$policy" ]]; then
  saved=$(mktemp "$policy.preflight-saved.XXXXXX")
  mv -f "$policy" "$saved"
fi
trap restore EXIT
printf '#!/bin/sh\n# preflight test suite: installing prometheus for promtool only; never start services\nexit 101\n' > "$policy"
chmod 755 "$policy"

export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -q --no-install-recommends prometheus >/tmp/preflight-promtool-apt.log 2>&1; }
started=$(date +%s)
if ! install; then
  # a fresh container has no package lists yet
  apt-get update -q >>/tmp/preflight-promtool-apt.log 2>&1 || true
  if ! install; then
    say "apt-get install prometheus failed: $(grep -E '^(E|W):' /tmp/preflight-promtool-apt.log | tail -n 1) (log: /tmp/preflight-promtool-apt.log)"
    exit 1
  fi
fi
# the postinst enabled it at boot (symlinks only, nothing started): undo that
deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true
update-rc.d prometheus disable >/dev/null 2>&1 || true
say "installed Debian's prometheus package for promtool in $(( $(date +%s) - started )) s"

if [[ ! -x /usr/bin/promtool ]]; then
  say "the prometheus package installed, but /usr/bin/promtool is missing"
  exit 1
fi
printf '%s\n' /usr/bin/promtool
