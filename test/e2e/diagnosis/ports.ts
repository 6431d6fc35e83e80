// Every port the corpus uses (this helper's range is 19000-19199; the host network is shared with the
// sandbox and with other test runs). One per scenario's service, plus the listeners around them.
export const PORT = {
  'crash-exit3': 19001,
  'oom-own': 19002,
  hang: 19003,
  'stop-after-crash': 19004,
  econnrefused: 19005,
  'enoent-config': 19006,
  emfile: 19007,
  eaddrinuse: 19008,
  'v8-heap-oom': 19009,
  'upstream-timeout': 19010,
  'python-traceback': 19011,
  'java-oom': 19012,
  'rust-panic': 19013,
  'glibc-double-free': 19014,
  segv: 19015,
  enospc: 19016,
  eacces: 19017,
  'generic-log': 19018,
  'tls-expired': 19019,
  'listening-elsewhere': 19020,
  'crash-loop': 19021,
  'dependency-failed': 19022,
  bindsto: 19023,
  'exec-203': 19024,
  watchdog: 19025,
  'start-timeout-deploy': 19026,
  'memory-limit': 19027,
  'tasks-limit': 19028,
  'requested-restart': 19029,
  'slow-restart-ok': 19030,
  alias: 19031,
  'neighbour-oom-hang': 19032,
  'stale-crash-then-log': 19033,
  'unrelated-segfault': 19034,
  'python-connrefused': 19035,
  econnreset: 19036,
  'node-uncaught': 19037,
  'go-panic': 19038,
  'go-fatal': 19039,
  'glibc-stack-smash': 19040,
  'tls-hostname': 19041,
  'dns-gone': 19042,
} as const;

export const AROUND = {
  /** accepts and never answers: the upstream that times out */
  silentUpstream: 19150,
  /** held by the listeners unit: the port eaddrinuse moves to */
  taken: 19151,
  /** free: where listening-elsewhere moves to */
  elsewhere: 19152,
  /** bindsto's db (flaky.js) */
  bindsDb: 19153,
  /** neighbour-oom-hang's memory hog (flaky.js) */
  neighbourHog: 19154,
  /** accepts and resets every connection */
  resetting: 19155,
  /** nothing may listen here: the refused dependencies */
  closedForNode: 19190,
  closedForPython: 19191,
  /** preflight's own HTTP API (its /metrics tells when every service was seen healthy) */
  preflight: 19199,
} as const;
