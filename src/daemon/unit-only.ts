// Services watched through systemd alone: `unit:` and no `health_url:` (a timer's job, a worker with no
// endpoint), and with `watch_failed_units: true` every other service unit of the host that enters
// failed. There is no check to run: the feed is the unit watcher's (units.ts).
//  - a failure is what the watcher already reports as a RestartEvent: the unit entering failed, a
//    restart, a run's main process exiting non-zero (a oneshot's "Main process exited, status=1"). The
//    daemon takes it down its restart path (stepRestart: capture with that run's invocation, commit,
//    notify), so the snapshot and the notification are those of any other incident.
//  - the recovery is the unit being up again, seen by the poll (active, or a oneshot's NEXT run ended
//    with result success) or by the follower (a start job done). "Next run" is judged by the
//    invocation id: a failed oneshot sits inactive/failed with the dead run's id, and a poll that was
//    under way when the failure arrived still shows the run that then died.
//  - a unit already failed when first seen (at start, or found by watch_failed_units) is a failure then.
import { createHash } from 'node:crypto';
import type { Config, ServiceConfig } from '../config/config';
import { SERVICE_NAME } from '../config/config';
import type { UnitState } from '../systemd/unit';
import type { Logger } from './log';
import { newRuntime, restoreRuntime, type PersistedState, type ServiceRuntime } from './runtime';
import type { JobEvent, RestartEvent } from './units';

/** Services made from failed units, at most: a host whose every unit fails must not grow preflight without bound. */
export const MAX_DISCOVERED = 64;

/** The failure a unit-only service is down for: its dead run, and when preflight learnt of it (monotonic ms). */
export interface UnitFailure {
  invocationId: string | null;
  mono: number;
}

/** A service watched without a health URL. */
export const unitOnly = (rt: ServiceRuntime): boolean => rt.cfg.healthUrl === null;

/**
 * Whether a poll of the unit shows it up again after `failure`. `polledMono`: when that poll began.
 * Active is up (running again, or a oneshot with RemainAfterExit=); inactive with result success is a
 * oneshot whose run ended well. Either counts only for a run after the failed one: a new invocation id,
 * or, when the failed run's id is unknown, a poll begun after the failure was learnt.
 */
export function unitRecovered(u: UnitState, failure: UnitFailure, polledMono: number): boolean {
  const up = u.activeState === 'active' || (u.activeState === 'inactive' && u.result === 'success');
  if (!up) return false;
  if (failure.invocationId !== null) return u.invocationId !== undefined && u.invocationId !== failure.invocationId;
  return polledMono > failure.mono;
}

/** A unit found in failed (at the first poll, or by watch_failed_units) as the failure it is. */
export function failedOnSight(unit: string, u: UnitState, at: number): RestartEvent | null {
  if (u.activeState !== 'failed') return null;
  return {
    unit,
    at,
    deadInvocationId: u.invocationId ?? null,
    exit: null, // the journal of that run says how it ended (deadRunExit)
    reason: `in failed (result ${u.result ?? '?'}) when first seen`,
    gaveUp: 'failed',
    nRestarts: u.nRestarts ?? null,
  };
}

/**
 * The service name for a unit found by watch_failed_units: the unit's name without `.service`, made
 * to fit SERVICE_NAME (it becomes a folder and a URL path): systemd's \xNN escapes decoded where the
 * character is allowed, any other character `_`. When that is too long or already taken (a listed
 * service, another unit that maps the same), the name ends in 8 hex digits of the unit's full name,
 * so the same unit gets the same name after a restart of preflight.
 */
export function serviceNameForUnit(unit: string, taken: ReadonlySet<string>): string {
  let base = unit
    .replace(/\.service$/, '')
    .replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/[^A-Za-z0-9._-]/g, '_');
  if (!/^[A-Za-z0-9]/.test(base)) base = `u${base}`;
  if (SERVICE_NAME.test(base) && !taken.has(base)) return base;
  const hash = createHash('sha256').update(unit).digest('hex').slice(0, 8);
  return `${base.slice(0, 64 - 9)}-${hash}`;
}

export interface UnitOnlyHost {
  config: Config;
  services: ServiceRuntime[];
  log: Logger;
  mono: () => number;
  /** the state .state.json held at start: a found unit's incident may still be open from before */
  restored: () => PersistedState | null;
  /** a failure of the unit: the daemon's restart path */
  fail: (e: RestartEvent) => void;
  /** the unit is up again: the daemon applies a passing step (the recovery) */
  recover: (rt: ServiceRuntime, at: number) => void;
  /** start polling a unit found by watch_failed_units with the configured ones */
  watch: (unit: string) => void;
}

export class UnitOnlyFeed {
  private readonly failures = new Map<ServiceRuntime, UnitFailure>();
  /** unit-only services whose unit a poll has shown at least once */
  private readonly seen = new WeakSet<ServiceRuntime>();
  private full = false;

  constructor(private readonly h: UnitOnlyHost) {}

  /** The daemon took a failure of this unit-only service: what its recovery is judged against. */
  failed(rt: ServiceRuntime, e: RestartEvent): void {
    // a restart joining an open incident moves the mark on: the recovery is from the latest dead run
    this.failures.set(rt, { invocationId: e.deadInvocationId, mono: this.h.mono() });
  }

  /** Each poll's state of a unit-only service's unit (`polledMono`: when the poll began). */
  onState(rt: ServiceRuntime, unit: string, u: UnitState, at: number, polledMono: number): void {
    // the poll is this service's check: /healthz judges its age like a probe's
    rt.lastCheckDone = this.h.mono();
    const first = !this.seen.has(rt);
    this.seen.add(rt);
    if (rt.state.health === 'healthy') {
      const e = first ? failedOnSight(unit, u, at) : null;
      if (e) this.h.fail(e);
      return;
    }
    const failure = this.failures.get(rt) ?? { invocationId: null, mono: -Infinity };
    if (rt.state.health === 'unhealthy' && unitRecovered(u, failure, polledMono)) this.back(rt, at);
  }

  /** The follower's job lines: a start job done is the unit up (a oneshot's run that ended well). */
  onJob(rt: ServiceRuntime, e: JobEvent): void {
    if (rt.state.health !== 'unhealthy' || e.phase !== 'end' || e.type !== 'start' || e.result !== 'done') return;
    // the job's line comes after the failure it follows (one journal, in order): no stale state here
    this.back(rt, e.at);
  }

  private back(rt: ServiceRuntime, at: number): void {
    this.failures.delete(rt);
    this.h.recover(rt, at);
  }

  /**
   * A unit in failed that no service watches (watch_failed_units): a service of its own from now on,
   * and this failure its first incident, unless .state.json says one is open for it already.
   */
  discover(unit: string, u: UnitState, at: number): void {
    const discovered = this.h.services.filter((rt) => rt.cfg.discovered === true).length;
    if (discovered >= MAX_DISCOVERED) {
      if (!this.full) this.h.log.warn(`watch_failed_units: ${MAX_DISCOVERED} failed units are watched already; ${unit} and later ones are not`);
      this.full = true;
      return;
    }
    const name = serviceNameForUnit(unit, new Set(this.h.services.map((rt) => rt.cfg.name)));
    const c = this.h.config;
    const cfg: ServiceConfig = {
      name,
      healthUrl: null,
      unit,
      discovered: true,
      expectStatus: [],
      intervalSeconds: c.intervalSeconds,
      timeoutSeconds: c.timeoutSeconds,
      bufferSamples: c.bufferSamples,
    };
    const rt = newRuntime(cfg, c, this.h.mono);
    restoreRuntime(rt, this.h.restored(), this.h.log);
    this.h.services.push(rt);
    this.seen.add(rt);
    rt.lastCheckDone = this.h.mono();
    this.h.watch(unit);
    this.h.log.info(`watch_failed_units: ${unit} entered failed; watched from now on as service ${name}`);
    const e = rt.state.health === 'healthy' ? failedOnSight(unit, u, at) : null;
    if (e) this.h.fail(e);
    else if (rt.state.health === 'unhealthy') this.failures.set(rt, { invocationId: u.invocationId ?? null, mono: this.h.mono() });
  }
}
