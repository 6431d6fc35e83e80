// systemd's own record of a unit's jobs: PID 1's lines about starting, stopping and restarting it, a
// failed dependency, the start limit, and why a unit was stopped. Pure; the input is what
// parseJournalJson() keeps of an entry. Wordings are systemd 252's (src/core/job.c, src/core/unit.c),
// checked against real lines in fixtures/systemd/ (README.md there has each case's sequence).

/** What of a journal entry these parsers read (a JournalEntry fits). */
export interface RecordInput {
  message: string;
  /** JOB_TYPE=, JOB_RESULT=, MESSAGE_ID= of PID 1's job lines */
  jobType?: string;
  jobResult?: string;
  messageId?: string;
}

/** A line with its time and the unit it is about (UNIT= of PID 1's lines, else the sender's unit). */
export interface TimedRecord extends RecordInput {
  at: string;
  unit?: string;
}

/**
 * The catalogued MESSAGE_IDs of job lines (src/systemd/sd-messages.h; catalog/systemd.catalog.in). They are
 * about jobs, not units: UNIT_FAILED ends a start job that did not succeed, whatever the unit's own result.
 */
export const JOB_MESSAGE_IDS = {
  starting: '7d4958e842da4a758f6c1cdc7b36dcc5',
  started: '39f53479d3a045ac8e11786248231fbf',
  failed: 'be02cf6855d2428ba40df7e9d022f03d',
  stopping: 'de5b426a63be47a7b6ac3eaac82e2f6f',
  stopped: '9d1aaa27d60140bd96365438aad20286',
  reloading: 'd34d037fff1847e6ae669a370e694725',
  reloaded: '7b05ebc668384222baa8881179cfda54',
} as const;

/** Other catalogued lines about a unit seen in the captures. */
export const UNIT_MESSAGE_IDS = {
  /** "Main process exited, code=..., status=..." (and "Control process exited") */
  processExit: '98e322203f7a4ed290d09fe03c09fe15',
  /** "Failed with result '...'." (UNIT_RESULT=) */
  failureResult: 'd9b373ed55a64feb8242e02dbe79a49c',
  /** "Deactivated successfully." */
  success: '7ad2d189f7e94e70a38c781354912448',
  /** "Scheduled restart job, restart counter is at N." (N_RESTARTS=) */
  restartScheduled: '5eb03494b6584870a536b337290809b3',
  /** "Failed at step EXEC spawning ...", "Failed to locate executable ..." (sent by systemd's forked child) */
  spawnFailed: '641257651c1b4ec9a8624d7a40a9e1e7',
  /** systemd-coredump's "Process N (comm) of user U dumped core." */
  coredump: 'fc2e22bc6ee647b6b90729ab34a250b1',
} as const;

const JOB_IDS = new Set<string>(Object.values(JOB_MESSAGE_IDS));

/** job_type_to_string() names (src/core/job.c). */
export type JobType = 'start' | 'verify-active' | 'stop' | 'reload' | 'reload-or-start' | 'restart' | 'try-restart' | 'try-reload' | 'nop';
/** job_result_to_string() names. */
export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped' | 'invalid' | 'assert' | 'unsupported' | 'collected' | 'once';

export interface JobLine {
  /**
   * The job's type as PID 1 logged it. A restart shows as 'stop' when it begins ("Stopping x...":
   * job_perform_on_unit() logs the stop half under its own name) and 'restart' when that half is done
   * ("Stopped x."); the start half is a 'start' job of its own.
   */
  type: JobType | string;
  /** begin: "Starting/Stopping/Reloading x..."; end: "Started x.", "Stopped x.", "Failed to start x.", ... */
  phase: 'begin' | 'end';
  result?: JobResult | string;
  /** "Condition check resulted in x being skipped.": a start job that did nothing (result done) */
  conditionSkipped?: true;
  /** The unit as the line names it: "stop-app.service - app stopped on request" gives both parts. */
  unitName?: string;
  description?: string;
}

// job_start_message_format() / job_done_message_format() (systemd 252), the generic wordings every unit
// type but a few special ones (mount, swap) uses. The line names the unit with unit_status_string():
// "ID - Description" (StatusUnitFormat=combined, the default since 250), the description alone, or the id.
const JOB_TEXTS: ReadonlyArray<{ re: RegExp; type: JobType; phase: 'begin' | 'end'; result?: JobResult; conditionSkipped?: true }> = [
  { re: /^Starting (.+)\.\.\.$/, type: 'start', phase: 'begin' },
  { re: /^Stopping (.+)\.\.\.$/, type: 'stop', phase: 'begin' },
  { re: /^Reloading (.+)\.\.\.$/, type: 'reload', phase: 'begin' },
  { re: /^Started (.+)\.$/, type: 'start', phase: 'end', result: 'done' },
  { re: /^Condition check resulted in (.+) being skipped\.$/, type: 'start', phase: 'end', result: 'done', conditionSkipped: true },
  { re: /^Timed out starting (.+)\.$/, type: 'start', phase: 'end', result: 'timeout' },
  { re: /^Failed to start (.+)\.$/, type: 'start', phase: 'end', result: 'failed' },
  { re: /^Dependency failed for (.+)\.$/, type: 'start', phase: 'end', result: 'dependency' },
  { re: /^Assertion failed for (.+)\.$/, type: 'start', phase: 'end', result: 'assert' },
  { re: /^Starting of (.+) unsupported\.$/, type: 'start', phase: 'end', result: 'unsupported' },
  { re: /^Unit (.+) has been started before and cannot be started again\.$/, type: 'start', phase: 'end', result: 'once' },
  // "Stopped x with error." in newer versions, "Stopped (with error) x." in older ones
  { re: /^Stopped (?:\(with error\) (.+)|(.+) with error)\.$/, type: 'stop', phase: 'end', result: 'failed' },
  { re: /^Stopped (.+)\.$/, type: 'stop', phase: 'end', result: 'done' },
  { re: /^Timed out stopping (.+)\.$/, type: 'stop', phase: 'end', result: 'timeout' },
  { re: /^Reloaded (.+)\.$/, type: 'reload', phase: 'end', result: 'done' },
  { re: /^Reload failed for (.+)\.$/, type: 'reload', phase: 'end', result: 'failed' },
  { re: /^Timed out reloading (.+)\.$/, type: 'reload', phase: 'end', result: 'timeout' },
];

/** unit_status_string()'s "ID - Description" (an ID has a unit type suffix and no spaces). */
function splitSubject(subject: string): Pick<JobLine, 'unitName' | 'description'> {
  const m = /^(\S+\.(?:service|socket|target|device|mount|automount|swap|timer|path|slice|scope)) - (.+)$/.exec(subject);
  if (m) return { unitName: m[1] ?? '', description: m[2] ?? '' };
  if (/^\S+\.(?:service|socket|target|device|mount|automount|swap|timer|path|slice|scope)$/.test(subject)) return { unitName: subject };
  return { description: subject };
}

// job_finish_and_invalidate(): a second line for a job that ended in timeout or dependency, carrying
// JOB_TYPE= and JOB_RESULT= but no MESSAGE_ID: "x.service: Job x.service/start failed with result 'dependency'."
const JOB_FAILED = /(?:^|: )Job (\S+)\/([a-z-]+) failed with result '([a-z-]+)'\.$/;

/**
 * One of PID 1's job lines (job_emit_start_message / job_emit_done_message) → its type, phase and result;
 * null for any other line. JOB_TYPE=/JOB_RESULT= decide when the entry has them (a "begin" line has no
 * JOB_RESULT=); a bare message (no journal fields) is read by its wording. The second line systemd adds
 * for a timeout or dependency failure ("Job x/start failed with result ...") is not a job line here:
 * parseJobFailed() reads it, so one job never counts twice.
 */
export function parseJobLine(e: RecordInput): JobLine | null {
  const text = e.message.trim();
  if (JOB_FAILED.test(text)) return null;
  let byText: JobLine | null = null;
  for (const t of JOB_TEXTS) {
    const m = t.re.exec(text);
    if (!m) continue;
    byText = { type: t.type, phase: t.phase, ...splitSubject(m[1] ?? m[2] ?? '') };
    if (t.result) byText.result = t.result;
    if (t.conditionSkipped) byText.conditionSkipped = true;
    break;
  }
  const known = e.messageId !== undefined && JOB_IDS.has(e.messageId);
  if (e.jobType !== undefined && (known || e.messageId === undefined)) {
    const line: JobLine = { type: e.jobType, phase: e.jobResult === undefined ? 'begin' : 'end' };
    if (e.jobResult !== undefined) line.result = e.jobResult;
    if (byText?.conditionSkipped) line.conditionSkipped = true;
    if (byText?.unitName !== undefined) line.unitName = byText.unitName;
    if (byText?.description !== undefined) line.description = byText.description;
    return line;
  }
  // a catalogued id that is not a job's, or JOB_TYPE= on a line that is not a job line: not ours
  if (e.messageId !== undefined && !known) return null;
  return byText;
}

/** "x.service: Job x.service/start failed with result 'dependency'." → its unit, job type and result. */
export function parseJobFailed(message: string): { unit: string; type: string; result: string } | null {
  const m = JOB_FAILED.exec(message.trim());
  return m ? { unit: m[1] ?? '', type: m[2] ?? '', result: m[3] ?? '' } : null;
}

// unit.c unit_log_failure(): "Failed with result '%s'." (UNIT_RESULT=)
const UNIT_FAILED = /(?:^|: )Failed with result '([a-z-]+)'\.$/;

/**
 * Which dependency made `unit`'s start fail. The "Dependency failed for app.service." line names only the
 * dependent unit; the failed one shows in its own lines just before (the same millisecond in the capture):
 * its start job's end with JOB_RESULT=failed (or timeout, dependency, ...) and its "Failed with result
 * '<result>'." So: the last failed start job of one of `dependencies` (Requires=, Requisite=, BindsTo= of
 * the unit) within `windowMs` before the "Dependency failed" line, with that unit's result when logged.
 * The lines must include the dependencies' own PID 1 lines (-u app alone has none of them).
 */
export function findFailedDependency(
  lines: readonly TimedRecord[],
  unit: string,
  dependencies: readonly string[],
  windowMs = 5000,
): { dependency: string; jobResult: string; unitResult?: string; at: string } | null {
  const deps = new Set(dependencies);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line?.unit !== unit) continue;
    const job = parseJobLine(line);
    if (job?.type !== 'start' || job.result !== 'dependency') continue;
    const until = Date.parse(line.at);
    for (let k = i - 1; k >= 0; k--) {
      const dep = lines[k];
      if (!dep?.unit || !deps.has(dep.unit)) continue;
      if (until - Date.parse(dep.at) > windowMs) break;
      const depJob = parseJobLine(dep);
      if (depJob?.type !== 'start' || depJob.phase !== 'end' || depJob.result === 'done' || depJob.result === undefined) continue;
      const found: { dependency: string; jobResult: string; unitResult?: string; at: string } = { dependency: dep.unit, jobResult: depJob.result, at: dep.at };
      // its own "Failed with result" comes just before the job's end
      for (let r = k - 1; r >= 0; r--) {
        const prior = lines[r];
        if (!prior || Date.parse(dep.at) - Date.parse(prior.at) > windowMs) break;
        if (prior.unit !== dep.unit) continue;
        const m = UNIT_FAILED.exec(prior.message.trim());
        if (m) {
          found.unitResult = m[1] ?? '';
          break;
        }
      }
      return found;
    }
    return null;
  }
  return null;
}

// unit.c unit_test_start_limit(): "Start request repeated too quickly."
const START_LIMIT = /(?:^|: )Start request repeated too quickly\.$/;
// service.c service_enter_restart(): "Scheduled restart job, restart counter is at %u."
const RESTART_COUNTER = /(?:^|: )Scheduled restart job, restart counter is at (\d+)\.$/;

export function isStartLimitLine(message: string): boolean {
  return START_LIMIT.test(message.trim());
}

/**
 * The start limit hit for `unit`: the last "Start request repeated too quickly." line, with the restart
 * counter of the "Scheduled restart job" line before it (the restarts systemd made before giving up:
 * equal to StartLimitBurst= for a crash loop) and the unit's result logged with it. systemd 252 keeps the
 * first failure's result: a loop of runs that exit 1 ends in result 'exit-code', not 'start-limit-hit'
 * (that one shows only when the runs before succeeded), so read the line, not Result=.
 */
export function findStartLimit(
  lines: readonly TimedRecord[],
  unit: string,
): { at: string; restartCounter?: number; unitResult?: string } | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line?.unit !== unit || !isStartLimitLine(line.message)) continue;
    const hit: { at: string; restartCounter?: number; unitResult?: string } = { at: line.at };
    const next = lines.slice(i + 1).find((l) => l.unit === unit);
    const result = next ? UNIT_FAILED.exec(next.message.trim()) : null;
    if (result) hit.unitResult = result[1] ?? '';
    for (let k = i - 1; k >= 0; k--) {
      const prior = lines[k];
      if (prior?.unit !== unit) continue;
      const m = RESTART_COUNTER.exec(prior.message.trim());
      if (m) {
        hit.restartCounter = Number(m[1]);
        break;
      }
    }
    return hit;
  }
  return null;
}

export type StopCause =
  /** a BindsTo= (or PartOf=) unit went down just before: systemd stopped this one */
  | { kind: 'bound-unit'; boundUnit: string; at: string; evidence: string }
  /** the stop half of a restart systemd scheduled itself (Restart=) */
  | { kind: 'auto-restart'; at: string; evidence: string }
  /** nothing in these lines explains it: a `systemctl stop`/`restart`, a Conflicts=, a shutdown */
  | { kind: 'unexplained'; at: string };

// what a unit's going down looks like in PID 1's lines: its main process ended, its result, its stop
const WENT_DOWN = /(?:^|: )(?:Main process exited, |Failed with result |Deactivated successfully\.$)/;

/**
 * Why `unit`'s last stop job ran. PID 1 logs a BindsTo= stop exactly like a `systemctl stop` (JOB_TYPE=stop
 * "Stopping x...", then "Stopped x." with JOB_RESULT=done; no line names the bound unit at the default log
 * level), so the only sign is a unit of `boundTo` going down within `windowMs` before it (0.6 ms in the
 * capture). The lines must hold the bound units' PID 1 lines too.
 */
export function findStopCause(
  lines: readonly TimedRecord[],
  unit: string,
  boundTo: readonly string[],
  windowMs = 1000,
): StopCause | null {
  const bound = new Set(boundTo);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line?.unit !== unit) continue;
    const job = parseJobLine(line);
    const isStop = job && ((job.type === 'stop' && job.phase === 'begin') || (job.type === 'restart' && job.phase === 'end'));
    if (!isStop) continue;
    // an auto-restart's stop has no "Stopping" line: it ends right after "Scheduled restart job"
    if (job.type === 'restart') {
      const prior = lines.slice(0, i).reverse().find((l) => l.unit === unit);
      if (prior && RESTART_COUNTER.test(prior.message.trim())) return { kind: 'auto-restart', at: line.at, evidence: prior.message };
      // the end of a requested restart: find where it began
      continue;
    }
    const at = Date.parse(line.at);
    for (let k = i - 1; k >= 0; k--) {
      const prior = lines[k];
      if (!prior) continue;
      if (at - Date.parse(prior.at) > windowMs) break;
      if (prior.unit && bound.has(prior.unit) && WENT_DOWN.test(prior.message.trim())) {
        return { kind: 'bound-unit', boundUnit: prior.unit, at: line.at, evidence: prior.message };
      }
    }
    return { kind: 'unexplained', at: line.at };
  }
  return null;
}
