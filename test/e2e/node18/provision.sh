#!/usr/bin/env bash
# Provision Debian 12's own Node 18 beside the host's Node, without installing it, so the e2e tests can run
# the bundle on the Node our users' distribution ships (recipe: /work/shared/reference/distro-node18.md).
#
#   test/e2e/node18/provision.sh            -> prints the wrapper path (.cache/node18/node), exit 0
#
# Exit 3 with ONE line on stderr when this machine cannot (not root, no apt, no Debian 12 source, no route
# to the mirror): tests skip with that line. Exit 1 is a bug (e.g. the extracted node does not start): tests fail.
#
# What it does, once: asks `apt-cache madison nodejs` for the newest 18.x that bookworm offers, downloads
# nodejs, its libnode, the node-* packages libnode loads builtins from (/usr/share/nodejs) and only those
# libraries the host lacks (libc6/libstdc++/libgcc are always the host's), extracts them into a temp folder,
# writes the wrapper, checks it starts, and renames the folder into place: the cache is whole or absent.
# A second run finds the cache and returns at once, without asking apt anything.
# Set PREFLIGHT_NODE18_CACHE to use another folder (the tests do, to provoke the failure paths).
set -euo pipefail
# shellcheck source=cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cache=${PREFLIGHT_NODE18_CACHE:-$repo/.cache/node18}
wrapper=$cache/node

cannot() {
  printf 'node18: %s\n' "$*" >&2
  exit 3
}

complete() { [[ -x $wrapper && -s $cache/VERSION ]]; }

# root first, even on the fast path: the wrapper itself needs it (unshare -m, mount)
[[ $EUID -eq 0 ]] || cannot "needs root: the wrapper mounts Debian's /usr/share/nodejs in a private mount namespace (unshare -m)"

if complete; then
  printf '%s\n' "$wrapper"
  exit 0
fi

for tool in apt-get apt-cache dpkg dpkg-deb dpkg-query; do
  command -v "$tool" >/dev/null || cannot "no apt: $tool not found (needs a Debian-based host with apt and dpkg)"
done
for tool in unshare mount flock timeout readlink; do
  command -v "$tool" >/dev/null || cannot "$tool not found (install util-linux and coreutils)"
done
# the wrapper passes the cache path inside an overlayfs option string, which cannot carry these
[[ $cache != *[,:]* ]] || cannot "cache path $cache holds ',' or ':' (set PREFLIGHT_NODE18_CACHE to a plain path)"

lock_cache "$wrapper"

started=$SECONDS
newest_18() {
  version=''
  while IFS='|' read -r _ v src; do
    v=${v// /}
    [[ $v == 18.* ]] || continue
    [[ $src == *' bookworm/'* || $src == *' bookworm-'*/* ]] || continue
    if [[ -z $version ]] || dpkg --compare-versions "$v" gt "$version"; then version=$v; fi
  done < <(apt-cache madison nodejs 2>/dev/null || true)
}
newest_18
# a fresh machine (CI) may have no package lists yet, or stale ones: fetch them once and look again
if [[ -z $version ]]; then
  timeout 180 apt-get update -q >/dev/null 2>&1 || true
  newest_18
fi
[[ -n $version ]] || cannot "apt-cache madison nodejs lists no 18.x from Debian 12 (bookworm): add bookworm to apt's sources or run apt-get update"

arch=$(dpkg --print-architecture)

# "Depends:" of one exact package version, one dependency a line: "name op version" (op, version may be empty).
# Alternatives ("a | b") keep their first choice; ":any" qualifiers are dropped.
depends() {
  apt-cache show "$1=$2" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 | tr ',' '\n' |
    sed -E 's/\|.*//; s/:any//; s/^ *([^ (]+) *(\(([<>=]+) *([^)]+)\))? *$/\1 \3 \4/'
}

# The host has it at a version that satisfies the constraint.
host_has() {
  local name=$1 op=$2 want=$3 have
  have=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$name:$arch" 2>/dev/null ||
    dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$name" 2>/dev/null || true)
  have=$(sed -n 's/^ii  *//p' <<<"$have" | head -n1)
  [[ -n $have ]] || return 1
  [[ -z $op ]] || dpkg --compare-versions "$have" "$op" "$want"
}

libnode=''
while read -r name _ _; do
  [[ $name == libnode* ]] && libnode=$name
done < <(depends nodejs "$version")
[[ -n $libnode ]] || cannot "apt-cache show nodejs=$version names no libnode dependency"

pkgs=("nodejs=$version" "$libnode=$version")
while read -r name op want; do
  case $name in
    '' | libc6 | libgcc-s1 | libstdc++6) ;; # the host's C and C++ runtime, tied to its dynamic loader
    node-*) pkgs+=("$name") ;;              # builtins libnode loads from /usr/share/nodejs: always Debian's
    *) host_has "$name" "$op" "$want" || pkgs+=("$name") ;;
  esac
done < <(depends "$libnode" "$version")

tmp=$(mktemp -d "$cache.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# APT::Sandbox::User=root: the temp folder is ours alone, so apt's _apt user could not write into it
if ! (cd "$tmp" && timeout 300 apt-get -q -o APT::Sandbox::User=root -o Acquire::Retries=0 \
  -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20 download "${pkgs[@]}") >"$tmp/apt.log" 2>&1; then
  why=$(grep -m1 '^E: ' "$tmp/apt.log" || tail -n1 "$tmp/apt.log" || true)
  why=${why#E: }
  [[ -n $why ]] || why='apt-get download timed out after 300 s'
  hint=''
  if [[ $why == *' 404 '* ]]; then
    # stale package lists name a version the mirror dropped: fetch the lists once, then start over
    if [[ -z ${PREFLIGHT_NODE18_RETRIED:-} ]]; then
      timeout 180 apt-get update -q >/dev/null 2>&1 || true
      rm -rf "$tmp"
      exec 9>&-
      PREFLIGHT_NODE18_RETRIED=1 exec "$0" "$@"
    fi
    hint=' (the mirror dropped that version, even after apt-get update)'
  fi
  cannot "cannot download Debian's nodejs $version from the apt mirror: $why$hint"
fi

for deb in "$tmp"/*.deb; do
  dpkg-deb -x "$deb" "$tmp/root"
done
rm -f "$tmp"/*.deb "$tmp/apt.log"

libnode_so=$(find "$tmp/root/usr/lib" -name 'libnode.so.*' -print -quit)
[[ -n $libnode_so ]] || { echo "node18: $libnode=$version holds no libnode.so.*" >&2; exit 1; }
libdir=$(dirname "${libnode_so#"$tmp"/}")
[[ -d $tmp/root/usr/share/nodejs && -x $tmp/root/usr/bin/node ]] || {
  echo "node18: the extracted packages lack usr/bin/node or usr/share/nodejs" >&2
  exit 1
}
# an empty nodejs folder to overlay onto the host's /usr/share when the host has no /usr/share/nodejs
mkdir -p "$tmp/stub/nodejs"

cat >"$tmp/node" <<EOF
#!/bin/sh
# Debian 12's nodejs $version, extracted by test/e2e/node18/provision.sh (generated: rm -rf this folder to redo).
# Debian's node loads undici, acorn and cjs-module-lexer from /usr/share/nodejs, so it runs in a private mount
# namespace where only that folder is Debian's; the host's /usr/share (CA certs, zoneinfo) stays visible and
# untouched. Every step execs (sh, unshare, sh, node share one pid): argv, stdio, signals and the exit status
# are node's own.
here=\$(dirname "\$(readlink -f "\$0")")
exec unshare --mount --propagation private -- /bin/sh -c '
here=\$1
shift
if [ ! -d /usr/share/nodejs ]; then
  # nothing to bind onto: a read-only overlay adds an empty folder, the host tree stays as it is
  mount -t overlay -o "lowerdir=/usr/share:\$here/stub" node18-usr-share /usr/share ||
    { echo "node18 wrapper: cannot overlay /usr/share" >&2; exit 125; }
fi
mount --bind "\$here/root/usr/share/nodejs" /usr/share/nodejs ||
  { echo "node18 wrapper: cannot bind \$here/root/usr/share/nodejs" >&2; exit 125; }
LD_LIBRARY_PATH="\$here/$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
exec "\$here/root/usr/bin/node" "\$@"
' node18 "\$here" "\$@"
EOF
chmod 755 "$tmp/node"

got=$(timeout 30 "$tmp/node" -p process.version 2>&1) || true
if [[ $got != v18.* ]]; then
  echo "node18: Debian's nodejs $version was extracted but does not start under the wrapper: ${got%%$'\n'*}" >&2
  exit 1
fi

chmod 755 "$tmp" # mktemp made it 0700
printf '%s\n' "${pkgs[@]}" >"$tmp/packages"
printf '%s\n' "$version" >"$tmp/VERSION"
mv -T "$tmp" "$cache"
echo "node18: Debian nodejs $version ($got, ${#pkgs[@]} packages) ready in $cache after $((SECONDS - started)) s" >&2
printf '%s\n' "$wrapper"
