#!/usr/bin/env bash
# Build the bundle of another revision, for running the fault suite against it (e.g. main before a
# merge): bundle-at.sh REV OUT. Uses this checkout's esbuild; the revision's src/ and package.json come
# from git, into a temp folder removed afterwards.
set -euo pipefail
rev=${1:?usage: bundle-at.sh REV OUT}
out=${2:?usage: bundle-at.sh REV OUT}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$repo" archive "$rev" src package.json | tar -x -C "$tmp"
version=$(node -p "require('$tmp/package.json').version")
"$repo/node_modules/.bin/esbuild" "$tmp/src/cli.ts" --bundle --platform=node --target=node18.15 --format=cjs \
  --banner:js='#!/usr/bin/env node' --define:PREFLIGHT_VERSION="\"$version\"" \
  --legal-comments=none --log-level=warning --outfile="$out"
chmod 755 "$out"
echo "built $out from $rev ($(git -C "$repo" rev-parse --short "$rev"))"
