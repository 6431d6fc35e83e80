// OOM kills: the kernel's lines, tied to a cgroup. A kill of this unit's cgroup is proof of the cause; a
// kill in another cgroup under its own limit is a neighbour's trouble (context, never this unit's
// cause); a kill when the whole host ran out of memory is a host-wide condition near the failure.
import type { SnapshotKernelLine } from '../../incident/snapshot';
import { isUnitOomKillLine, parseFailedResult } from '../../systemd/exit';
import { classifyKernelLine, collectOomKills, parseOomKill, unitOwnsCgroup, type OomKill } from '../../systemd/kernel';
import type { UnitState } from '../../systemd/unit';
import type { Ctx } from '../context';
import { ENDINGS, SYMPTOMS, type Evidence } from '../evidence';
import { journalQuote, kernelQuote, propsQuote } from './quote';

type Owner = 'unit' | 'other' | 'unknown';
/** An OOM kill, and whose it is: matched by the unit's cgroup, by its name alone, or by its pid. */
type AttributedKill = OomKill & { owner: Owner; by?: 'cgroup' | 'name' | 'pid' };

/** Everything an OOM kill of this unit explains: how the run ended, how the failure looked, its memory at the limit. */
export const OOM_EXPLAINS = [...ENDINGS, ...SYMPTOMS, 'unit_memory'];

/**
 * Kernels before 4.19 print no summary line: the cgroup of a memcg kill is in the "Task in <task memcg>
 * killed as a result of limit of <memcg>" line a few lines above the kill (RHEL 8's 4.18 among them).
 * Give such a kill the cgroups of the nearest one before it, but never across an earlier kill.
 */
function withTaskIn(kills: OomKill[], kernel: readonly SnapshotKernelLine[]): OomKill[] {
  return kills.map((kill) => {
    if (kill.taskMemcg !== undefined) return kill;
    const at = kernel.findIndex((l) => l.message.trim() === kill.line);
    for (let i = at - 1; i >= 0; i--) {
      const message = kernel[i]?.message ?? '';
      const kind = classifyKernelLine(message);
      if (kind === 'oom_killed' || kind === 'oom_kill_summary') break;
      const info = kind === 'memcg_oom' ? parseOomKill(message) : null;
      if (info?.taskMemcg !== undefined) return { ...kill, taskMemcg: info.taskMemcg, ...(info.memcg === undefined ? {} : { memcg: info.memcg }) };
    }
    return kill;
  });
}

/** A kill matched only by a path suffix is this unit's only if it happened when this unit failed. */
const SAME_EVENT_MS = 5000;

function attribute(kill: OomKill, unit: UnitState | null, when: readonly number[]): AttributedKill {
  if (unit === null) return { ...kill, owner: 'unknown' };
  // right after the kill the unit has no cgroup (ControlGroup= is empty in auto-restart): its cgroup is
  // then known only by its last segment, the unit's name, which unitOwnsCgroup matches after any prefix
  const by = unit.controlGroup !== undefined ? 'cgroup' : 'name';
  const cgroup = unit.controlGroup ?? (unit.id !== '' ? `/${unit.id}` : undefined);
  const memcg = kill.taskMemcg ?? kill.memcg;
  if (cgroup !== undefined && memcg !== undefined) {
    if (!unitOwnsCgroup(cgroup, memcg)) return { ...kill, owner: 'other' };
    // the kernel prints paths from the hierarchy's root, systemd in a container from its own: a path that
    // matches only after a prefix (or only by the unit's name) may be another container's unit of the
    // same name, so it must also have happened when this unit failed
    const exact = by === 'cgroup' && trimSlash(memcg) === trimSlash(cgroup);
    const t = kill.at === undefined ? Number.NaN : Date.parse(kill.at);
    if (exact || when.some((w) => Math.abs(t - w) <= SAME_EVENT_MS)) return { ...kill, owner: 'unit', by };
    return { ...kill, owner: 'other' };
  }
  // no cgroup in the kernel's words (before 4.19): the pid, which matches only without a pid namespace
  if (kill.pid !== undefined && (kill.pid === unit.mainPid || kill.pid === unit.execMainPid)) return { ...kill, owner: 'unit', by: 'pid' };
  return { ...kill, owner: 'unknown' };
}

const trimSlash = (p: string): string => p.trim().replace(/\/+$/, '') || '/';

/** The kernel's summary line for this kill (it names the cgroups), if it is not the kill's own line. */
function summaryLineOf(kill: OomKill, kernel: readonly SnapshotKernelLine[]): SnapshotKernelLine | undefined {
  return kernel.find(
    (l) => classifyKernelLine(l.message) === 'oom_kill_summary' && parseOomKill(l.message)?.pid === kill.pid && l.message.trim() !== kill.line,
  );
}

function killQuotes(kill: OomKill, kernel: readonly SnapshotKernelLine[]): string[] {
  const out = [kernelQuote({ ...(kill.at === undefined ? {} : { at: kill.at }), message: kill.line })];
  const summary = summaryLineOf(kill, kernel);
  if (summary) out.push(kernelQuote(summary));
  return out;
}

function whoWasKilled(kill: OomKill): string {
  const who = kill.comm ?? 'a process';
  return kill.pid === undefined ? who : `${who} (pid ${kill.pid})`;
}

/** Where the limit was: the unit's own, a slice above it, or the whole host. */
function whichLimit(kill: AttributedKill, unit: UnitState | null): string {
  if (kill.constraint === 'CONSTRAINT_NONE') return ' when the host ran out of memory';
  if (kill.constraint !== 'CONSTRAINT_MEMCG') return '';
  const cgroup = unit?.controlGroup ?? (unit?.id ? `/${unit.id}` : undefined);
  if (kill.memcg === undefined || cgroup === undefined || unitOwnsCgroup(cgroup, kill.memcg)) return " at the unit's memory limit";
  return ` at the memory limit of ${kill.memcg}`;
}

export function oomRule(ctx: Ctx): Evidence[] {
  const { input, unit } = ctx;
  // when this unit failed: its run's end, and the first failed check
  const when = [ctx.ff, ...(ctx.exit?.at ? [Date.parse(ctx.exit.at)] : [])];
  const kills = withTaskIn(collectOomKills(input.kernel), input.kernel).map((k) => attribute(k, unit, when));
  const said = ctx.manager.filter((l) => isUnitOomKillLine(l.message) || parseFailedResult(l.message) === 'oom-kill');
  const unitSaysOom = unit?.result === 'oom-kill' || (input.memoryEvents?.oomKill ?? 0) > 0 || said.length > 0;
  const out: Evidence[] = [];
  // with systemd's own word for an OOM kill, a kill the kernel did not tie to a cgroup is taken as the unit's
  const own = kills.filter((k) => k.owner === 'unit' || (k.owner === 'unknown' && unitSaysOom));
  const last = own[own.length - 1];
  if (last !== undefined || unitSaysOom) {
    const quotes: string[] = [];
    if (last !== undefined) quotes.push(...killQuotes(last, input.kernel));
    if (last?.by === 'name') quotes.push(`task_memcg ends in ${unit?.id ?? '?'} (ControlGroup= is empty after the kill: matched by name)`);
    else if (last?.by === 'pid') quotes.push(`pid ${last.pid} is the unit's main process (the kernel line names no cgroup)`);
    if (unit?.result === 'oom-kill') quotes.push(propsQuote(unit, ['Result', 'ExecMainCode', 'ExecMainStatus']));
    const ev = input.memoryEvents;
    if (ev && ev.oomKill > 0) quotes.push(`memory.events: oom_kill ${ev.oomKill}, oom ${ev.oom} (this run of the unit)`);
    for (const l of said.slice(-2)) quotes.push(journalQuote(l));
    let cause = "killed by the kernel's OOM killer";
    if (last !== undefined) {
      cause += `: ${whoWasKilled(last)}${whichLimit(last, unit)}`;
      if (own.length > 1) cause += ` (+${own.length - 1} more)`;
    } else if (unit?.result === 'oom-kill') cause += ' (systemd: Result=oom-kill)';
    else if (ev && ev.oomKill > 0) cause += ` (memory.events oom_kill ${ev.oomKill})`;
    else cause += ' (reported by systemd)';
    out.push({
      kind: 'oom_kill',
      cause,
      source: last !== undefined ? 'kernel' : 'systemd',
      scope: 'unit',
      at: last?.at ?? said[said.length - 1]?.at ?? null,
      strength: 'proves',
      role: 'cause',
      quotes,
      explains: OOM_EXPLAINS,
      specificity: 10,
    });
  }
  for (const k of kills) {
    if (own.includes(k)) continue;
    const where = k.taskMemcg ?? k.memcg;
    const global = k.constraint === 'CONSTRAINT_NONE';
    out.push({
      kind: global ? 'host_oom_kill' : 'other_oom_kill',
      cause: global
        ? `the host ran out of memory: the kernel's OOM killer killed ${whoWasKilled(k)}`
        : `OOM kill of another process: ${whoWasKilled(k)}${where === undefined ? '' : ` in ${where}`}`,
      source: 'kernel',
      // another cgroup under its own limit is a neighbour's trouble; a global OOM is the host's
      scope: global ? 'host' : 'other',
      at: k.at ?? null,
      strength: 'suggests',
      role: 'cause',
      quotes: killQuotes(k, input.kernel),
      ...(global ? { explains: ['http_status', 'timeout', 'hung', 'memory_low'] } : { contextOnly: true }),
    });
  }
  return out;
}
