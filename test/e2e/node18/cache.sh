# Sourced by the provision scripts beside it: their cache is whole or absent, and one run at a time fills it.
# The caller defines `cache` (the folder), `complete` (true once the cache is whole) and `cannot` (exit 3).

# Take "$cache.lock" (fd 9, held until the script exits). If another run completed the cache while we
# waited, print $1 (the path the script prints) and exit 0; otherwise clear what a killed run left.
lock_cache() {
  mkdir -p "$(dirname "$cache")"
  exec 9>"$cache.lock"
  flock -w 600 9 || cannot "another $(basename "$0") has held $cache.lock for 10 minutes"
  if complete; then
    printf '%s\n' "$1"
    exit 0
  fi
  # We hold the lock, so temp folders are leftovers of a killed run, and a cache folder without VERSION
  # was not made by the script's rename: neither is worth keeping.
  rm -rf "$cache" "$cache".tmp.*
}
