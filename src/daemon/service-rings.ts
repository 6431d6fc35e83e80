// Each service's rings: one row per health check, and one per `systemctl show` poll of its unit, in
// preallocated Float64Arrays (raw values, NaN for "none"), read back as the snapshot's samples.
// Rows come back in the order they were taken, each with the wall time as read: after a clock step the
// times go back (or jump) there as they did on the box, which is what the journal beside them shows too.
// Nothing here searches them by time (src/sample/ring.ts says how a search copes with a step).
import type { ProbeSample, UnitSample } from '../incident/snapshot';
import { probeErrorCode, probeErrorKindOf, type ProbeResult } from '../probe/http';
import { Ring } from '../sample/ring';
import type { UnitState } from '../systemd/unit';
import { iso } from '../incident/snapshot';

// probe ring columns
const P_AT = 0;
const P_OK = 1;
const P_STATUS = 2;
const P_LATENCY = 3;
const P_ERROR = 4;
const PROBE_COLUMNS = 5;
// unit ring columns (one row per systemctl poll)
const U_AT = 0;
const U_MEMORY = 1;
const U_TASKS = 2;
const U_RESTARTS = 3;
const UNIT_COLUMNS = 4;

const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);

export class ProbeRing {
  private readonly ring: Ring;
  private readonly row = new Float64Array(PROBE_COLUMNS);

  constructor(capacity: number) {
    this.ring = new Ring(capacity, PROBE_COLUMNS);
  }

  push(r: ProbeResult): void {
    const row = this.row;
    row[P_AT] = r.at;
    row[P_OK] = r.ok ? 1 : 0;
    row[P_STATUS] = r.status ?? Number.NaN;
    row[P_LATENCY] = r.latencyMs;
    row[P_ERROR] = probeErrorCode(r);
    this.ring.push(row);
  }

  samples(): ProbeSample[] {
    const out: ProbeSample[] = [];
    for (const row of this.ring) {
      const code = row[P_ERROR]!;
      out.push({
        at: iso(row[P_AT]!),
        ok: row[P_OK] === 1,
        status: orNull(row[P_STATUS]!),
        latency_ms: Math.round(row[P_LATENCY]!),
        error_kind: code === 0 ? null : (probeErrorKindOf(code) ?? null),
      });
    }
    return out;
  }
}

export class UnitRing {
  private readonly ring: Ring;
  private readonly row = new Float64Array(UNIT_COLUMNS);
  /** ActiveState/SubState at the last poll (epoch ms): what `preflight status` shows; strings, so not in the ring */
  last: { activeState: string | null; subState: string | null; at: number } | null = null;

  constructor(capacity: number) {
    this.ring = new Ring(capacity, UNIT_COLUMNS);
  }

  push(u: UnitState, at: number): void {
    const row = this.row;
    row[U_AT] = at;
    row[U_MEMORY] = u.memoryCurrentBytes ?? Number.NaN;
    row[U_TASKS] = u.tasksCurrent ?? Number.NaN;
    row[U_RESTARTS] = u.nRestarts ?? Number.NaN;
    this.ring.push(row);
    this.last = { activeState: u.activeState ?? null, subState: u.subState ?? null, at };
  }

  samples(): UnitSample[] {
    const out: UnitSample[] = [];
    for (const row of this.ring) {
      out.push({ at: iso(row[U_AT]!), memory_current_bytes: orNull(row[U_MEMORY]!), tasks_current: orNull(row[U_TASKS]!), n_restarts: orNull(row[U_RESTARTS]!) });
    }
    return out;
  }
}
