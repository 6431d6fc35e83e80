#!/usr/bin/env bash
# Find the compilers and runtimes the diagnosis corpus's programs need, installing Debian's package for
# any that is missing (the way test/e2e/tools/ensure-promtool.sh gets promtool; CI runs as root on
# Debian). Prints one "TOOL PATH" line per tool found on stdout; for each tool it could not get, one
# line saying why on stderr, and exits 1. PREFLIGHT_NO_TOOLCHAIN_INSTALL=1 forbids installing.
#   ensure-toolchains.sh TOOL...      TOOL: java rustc gcc go python3 openssl systemd-notify
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }
package() {
  case $1 in
    java) echo openjdk-17-jdk-headless ;; # the JDK: `java Foo.java` compiles the source in memory
    rustc) echo rustc ;;
    gcc) echo gcc libc6-dev ;;
    go) echo golang-go ;;
    python3) echo python3 ;;
    openssl) echo openssl ;;
    systemd-notify) echo systemd ;;
    *) return 1 ;;
  esac
}

missing=()
for tool in "$@"; do
  package "$tool" >/dev/null || { say "ensure-toolchains.sh: unknown tool $tool"; exit 2; }
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
failed=0
if [[ ${#missing[@]} -gt 0 ]]; then
  pkgs=$(for t in "${missing[@]}"; do package "$t"; done | tr '\n' ' ')
  why=""
  if [[ -n "${PREFLIGHT_NO_TOOLCHAIN_INSTALL:-}" ]]; then
    why="PREFLIGHT_NO_TOOLCHAIN_INSTALL is set"
  elif [[ $(id -u) -ne 0 ]]; then
    why="not root, so Debian's packages cannot be installed (apt-get install --no-install-recommends $pkgs)"
  elif ! command -v apt-get >/dev/null; then
    why="no apt-get to install Debian's packages ($pkgs)"
  else
    log=/tmp/preflight-toolchains-apt.log
    export DEBIAN_FRONTEND=noninteractive
    started=$(date +%s)
    # shellcheck disable=SC2086 # one word per package
    install() { apt-get install -y -q --no-install-recommends $pkgs >"$log" 2>&1; }
    if ! install; then
      apt-get update -q >>"$log" 2>&1 || true # a fresh container has no package lists yet
      install || why="apt-get install $pkgs failed: $(grep -E '^(E|W):' "$log" | tail -n 1) (log: $log)"
    fi
    [[ -n "$why" ]] || say "installed Debian's $pkgs in $(( $(date +%s) - started )) s"
  fi
  if [[ -n "$why" ]]; then
    for t in "${missing[@]}"; do say "$t not found and $why"; done
    failed=1
  fi
fi
for tool in "$@"; do
  if p=$(command -v "$tool" 2>/dev/null); then
    printf '%s %s\n' "$tool" "$p"
  elif [[ $failed -eq 0 ]]; then
    say "$tool: its package installed, but $tool is still not on PATH"
    failed=1
  fi
done
exit "$failed"
