// `preflight status`, the pure part: what the daemon answered (GET /status, or /healthz from a daemon
// without that route) or what it last wrote (.state.json, with `listen: off`), read into one view, and
// that view as one line per service. The cases are tables in test/commands/status-view.test.ts.
//
// Decisions:
// - The reader is lenient: a daemon newer or older than this CLI may add keys (ignored) or lack some
//   (the column shows '-', and a column no service has is not printed). A field of the wrong type is
//   taken as absent rather than failing the whole answer: this is the command run while things break.
// - Episode counts and a mute are shown only when the daemon says them; their absence says nothing.
import { clip } from '../util/text';
import { formatDuration } from '../util/units';

export interface ServiceView {
  name: string;
  /** healthy | suspect | unhealthy, or null when the source does not say (the state file) */
  health: string | null;
  consecutiveFailures: number | null;
  lastCheckAgeS: number | null;
  maxCheckAgeS: number | null;
  check: { ok: boolean | null; latencyMs: number | null; error: string | null } | null;
  incident: { id: string; ageS: number | null; state: string | null; occurrences: number | null } | null;
  muted: { until: string; reason: string | null } | null;
  unit: { name: string | null; active: string | null; sub: string | null } | null;
}

export interface StatusView {
  source: { kind: 'api'; url: string } | { kind: 'state'; file: string; ageS: number };
  /** the daemon's own verdict (ok, starting, stale, stuck) and what it says is wrong; null from the state file */
  daemon: { status: string | null; problems: string[]; version: string | null; uptimeS: number | null } | null;
  services: ServiceView[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

function incidentOf(v: unknown): ServiceView['incident'] {
  // /healthz says the open incident as its id; /status as an object
  if (typeof v === 'string') return { id: v, ageS: null, state: null, occurrences: null };
  const o = obj(v);
  const id = str(o?.id);
  if (!o || id === null) return null;
  return { id, ageS: num(o.age_seconds), state: str(o.state), occurrences: num(o.occurrences) };
}

function serviceOf(v: unknown): ServiceView | null {
  const o = obj(v);
  const name = str(o?.name);
  if (!o || name === null) return null;
  const c = obj(o.last_check);
  const u = obj(o.unit);
  const m = obj(o.muted);
  const until = str(m?.until);
  const latency = num(c?.latency_ms);
  return {
    name,
    health: str(o.health),
    consecutiveFailures: num(o.consecutive_failures),
    lastCheckAgeS: num(o.last_check_age_seconds),
    maxCheckAgeS: num(o.max_check_age_seconds),
    check: c ? { ok: bool(c.ok), latencyMs: latency, error: str(c.message) ?? str(c.error_kind) } : null,
    incident: incidentOf(o.open_incident),
    muted: until === null ? null : { until, reason: str(m?.reason) },
    unit: u ? { name: str(u.name), active: str(u.active_state), sub: str(u.sub_state) } : null,
  };
}

/** The body of GET /status (or /healthz) as a view; `url` is where it came from. */
export function viewOfApi(body: unknown, url: string): StatusView {
  const o = obj(body) ?? {};
  const problems = Array.isArray(o.problems) ? o.problems.filter((p): p is string => typeof p === 'string') : [];
  const services = Array.isArray(o.services) ? o.services.map(serviceOf).filter((s): s is ServiceView => s !== null) : [];
  return {
    source: { kind: 'api', url },
    daemon: { status: str(o.status), problems, version: str(o.version), uptimeS: num(o.uptime_seconds) },
    services,
  };
}

/**
 * .state.json as a view: it holds only the open incidents (with their first failure) of the configured
 * services, so health is "unhealthy" for those and unknown for the rest. `ageS` is the file's age.
 */
export function viewOfState(state: unknown, names: readonly string[], file: string, ageS: number, now: number): StatusView {
  const open = obj(obj(state)?.services) ?? {};
  const services = names.map((name): ServiceView => {
    const s = obj(open[name]);
    const id = str(s?.incidentId);
    const since = num(s?.firstFailureAt);
    return {
      name,
      health: id === null ? null : 'unhealthy',
      consecutiveFailures: num(s?.consecutiveFailures),
      lastCheckAgeS: null,
      maxCheckAgeS: null,
      check: null,
      incident: id === null ? null : { id, ageS: since === null ? null : Math.max(0, (now - since) / 1000), state: null, occurrences: null },
      muted: null,
      unit: null,
    };
  });
  return { source: { kind: 'state', file, ageS }, daemon: null, services };
}

export interface RenderOptions {
  /** the terminal's width; lines are clipped to it (none when not a terminal) */
  columns?: number;
  colour: boolean;
}

const COLOURS = { red: '31', green: '32', yellow: '33', dim: '2' } as const;
type Colour = keyof typeof COLOURS;

function ago(s: number | null): string {
  if (s === null) return '-';
  return s < 10 ? `${s.toFixed(1)}s ago` : `${formatDuration(s)} ago`;
}

/** An ISO time as "2026-12-02 18:00 UTC"; anything else as it came. */
function untilText(t: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(t) && t.endsWith('Z') ? `${t.slice(0, 10)} ${t.slice(11, 16)} UTC` : t;
}

function cells(s: ServiceView): { text: string[]; colour: (Colour | null)[] } {
  const late = s.lastCheckAgeS !== null && s.maxCheckAgeS !== null && s.lastCheckAgeS > s.maxCheckAgeS;
  const health = s.health ?? (s.incident ? 'unhealthy' : '-');
  const healthColour: Colour | null = health === 'healthy' ? 'green' : health === 'unhealthy' ? 'red' : health === 'suspect' ? 'yellow' : null;
  const checked = s.lastCheckAgeS === null ? (s.maxCheckAgeS === null ? '-' : 'not yet') : `${ago(s.lastCheckAgeS)}${late ? ' (late)' : ''}`;
  const latency = s.check?.latencyMs === null || s.check === null ? '-' : `${s.check.latencyMs} ms`;
  const i = s.incident;
  const incident = i
    ? // the id is left to --json and `preflight last`: the age says which incident this is
      `${i.state ?? 'open'}${i.ageS === null ? '' : ` ${formatDuration(i.ageS)}`}${i.occurrences === null ? '' : `, ${i.occurrences} occurrence${i.occurrences === 1 ? '' : 's'}`}`
    : '-';
  const muted = s.muted ? `until ${untilText(s.muted.until)}${s.muted.reason ? ` (${s.muted.reason})` : ''}` : '-';
  const unit = s.unit ? [s.unit.active, s.unit.sub].filter((x) => x !== null).join('/') || '-' : '-';
  const error = s.check && s.check.ok === false && s.check.error ? s.check.error : '';
  return {
    text: [s.name, health, checked, latency, incident, muted, unit, error],
    colour: [null, healthColour, late ? 'yellow' : null, null, i ? 'red' : null, s.muted ? 'yellow' : null, s.unit?.active === 'failed' ? 'red' : null, 'dim'],
  };
}

const HEAD = ['SERVICE', 'HEALTH', 'CHECKED', 'LATENCY', 'INCIDENT', 'MUTED', 'UNIT', 'LAST ERROR'];

const VERDICT_COLOURS: Record<string, Colour> = { ok: 'green', starting: 'yellow', stale: 'red', stuck: 'red' };

function headerLines(v: StatusView, paint: (text: string, colour: Colour | null) => string): string[] {
  if (v.source.kind === 'state') {
    return [
      `listen: off, so no daemon to ask: this is what the daemon last wrote to ${v.source.file}, ${formatDuration(v.source.ageS)} ago`,
      '(it is written on each incident and recovery; whether a daemon runs now cannot be told from it)',
    ];
  }
  const d = v.daemon;
  const verdict = d?.status ? `: ${paint(d.status, VERDICT_COLOURS[d.status] ?? null)}` : '';
  const up = d?.uptimeS === null || d?.uptimeS === undefined ? '' : `, up ${formatDuration(d.uptimeS)}`;
  return [`preflight${d?.version ? ` ${d.version}` : ''} at ${v.source.url}${verdict}${up}`, ...(d?.problems ?? []).map((p) => `  problem: ${p}`)];
}

/** The view as text: a header line or two, then one line per service. */
export function renderStatus(v: StatusView, o: RenderOptions): string {
  const paint = (text: string, colour: Colour | null): string => (o.colour && colour && text !== '-' && text !== '' ? `\x1b[${COLOURS[colour]}m${text}\x1b[0m` : text);
  const lines = headerLines(v, paint);
  if (v.services.length === 0) return [...lines, 'no services configured'].join('\n');
  const rows = v.services.map(cells);
  // a column no service has anything in (no units, no mutes, no errors) is left out
  const keep = HEAD.map((_, c) => c < 4 || rows.some((r) => r.text[c] !== '-' && r.text[c] !== ''));
  const cols = HEAD.map((_, c) => c).filter((c) => keep[c]);
  const widths = cols.map((c) => Math.max(HEAD[c]!.length, ...rows.map((r) => r.text[c]!.length)));
  const line = (text: string[], colour: (Colour | null)[]): string => {
    // pad and clip the plain text first, so the width is the visible one; colour goes on after
    const plain = cols.map((c, k) => (k === cols.length - 1 ? text[c]! : text[c]!.padEnd(widths[k]!)));
    let budget = o.columns ?? Infinity;
    const out: string[] = [];
    for (let k = 0; k < plain.length && budget > 0; k++) {
      const sep = k === 0 ? '' : '  ';
      const room = budget - sep.length;
      if (room <= 0) break;
      const full = plain[k]!;
      const bare = full.trimEnd();
      // the padding goes first; only a cell whose own text does not fit is cut, with an ellipsis
      const shown = full.length <= room ? full : bare.length <= room ? bare : clip(bare, room);
      budget = shown.length < full.length ? 0 : budget - sep.length - shown.length;
      const padded = shown.trimEnd();
      out.push(sep + paint(padded, colour[cols[k]!] ?? null) + shown.slice(padded.length));
    }
    return out.join('').trimEnd();
  };
  return [...lines, line(HEAD, HEAD.map(() => null)), ...rows.map((r) => line(r.text, r.colour))].join('\n');
}

/** The view for `--json`: the same keys whatever the source, in the API's snake_case. */
export function statusJson(v: StatusView): Record<string, unknown> {
  return {
    source: v.source.kind === 'api' ? { kind: 'api', url: v.source.url } : { kind: 'state', file: v.source.file, age_seconds: Math.round(v.source.ageS * 10) / 10 },
    daemon: v.daemon && { status: v.daemon.status, problems: v.daemon.problems, version: v.daemon.version, uptime_seconds: v.daemon.uptimeS },
    services: v.services.map((s) => ({
      name: s.name,
      health: s.health,
      consecutive_failures: s.consecutiveFailures,
      last_check_age_seconds: s.lastCheckAgeS,
      max_check_age_seconds: s.maxCheckAgeS,
      last_check: s.check && { ok: s.check.ok, latency_ms: s.check.latencyMs, error: s.check.error },
      open_incident: s.incident && { id: s.incident.id, age_seconds: s.incident.ageS, state: s.incident.state, occurrences: s.incident.occurrences },
      muted: s.muted,
      unit: s.unit && { name: s.unit.name, active_state: s.unit.active, sub_state: s.unit.sub },
    })),
  };
}
