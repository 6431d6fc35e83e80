// The health check itself, read with the unit's state: how the failure looked from outside (a symptom a
// cause can explain), what the unit was doing meanwhile (not running, hung, not listening), and the
// probe's own errors that are causes in themselves (a TLS certificate, a DNS name).
import type { SnapshotError } from '../../incident/snapshot';
import type { Ctx } from '../context';
import type { Evidence } from '../evidence';
import { clean, propsQuote } from './quote';

/** A unit that became active this recently and refuses connections is most likely still starting up. */
const STARTING_UP_MS = 30_000;

function checkQuote(error: SnapshotError): string {
  const latency = error.latency_ms === null ? '' : ` after ${Math.round(error.latency_ms)} ms`;
  const said = error.body !== undefined && error.body.trim() !== '' ? `; it answered: ${clean(error.body)}` : '';
  return `health check: ${error.kind}${error.message ? `: ${clean(error.message)}` : ''}${latency}${said}`;
}

function symptom(kind: string, cause: string, error: SnapshotError, at: string): Evidence {
  return { kind, cause, source: 'probe', scope: 'unit', at, strength: 'suggests', role: 'symptom', quotes: [checkQuote(error)], confidence: 'possible' };
}

const seconds = (ms: number): string => `${Math.max(0, Math.round(ms / 1000))}s`;

export function probeRule(ctx: Ctx): Evidence[] {
  const error = ctx.input.error;
  if (error === null || error.kind === 'unit') return [];
  const at = ctx.input.firstFailureAt;
  const unit = ctx.unit;
  const out: Evidence[] = [];
  switch (error.kind) {
    case 'http_status':
      out.push(symptom('http_status', `health check returned HTTP ${error.status ?? '?'}`, error, at));
      break;
    case 'body_mismatch':
      out.push(symptom('body_mismatch', 'health check answered with an unexpected body', error, at));
      break;
    case 'reset':
      out.push(symptom('reset', 'health check: the connection was closed before an answer', error, at));
      break;
    case 'timeout':
      // a unit that stayed up but does not answer is hung; "not crashed" is said only when nothing ended
      if (unit?.activeState === 'active' && ctx.exit === null) {
        out.push({
          kind: 'hung',
          cause: `hung, not crashed: ${ctx.unitName} stayed active (${unit.subState ?? '?'}) but timed out`,
          source: 'probe',
          scope: 'unit',
          at,
          strength: 'suggests',
          role: 'symptom',
          confidence: 'likely',
          quotes: [checkQuote(error), propsQuote(unit, ['ActiveState', 'SubState', 'MainPID', 'NRestarts'])],
        });
      } else out.push(symptom('timeout', 'health check timed out', error, at));
      break;
    case 'connection_refused':
      out.push(symptom('connection_refused', 'health check: connection refused', error, at));
      if (unit?.activeState === 'active') out.push(...notListening(ctx, error, at));
      break;
    case 'tls':
      out.push({
        kind: 'tls',
        cause: error.message.startsWith('TLS') ? error.message.replace(/^TLS: /, 'TLS ') : `TLS ${error.message}`,
        source: 'probe',
        scope: 'unit',
        at,
        strength: 'proves',
        role: 'cause',
        quotes: [checkQuote(error)],
      });
      break;
    case 'dns': {
      const unanswered = /EAI_AGAIN|did not answer/.test(error.message);
      out.push({
        kind: 'dns',
        cause: error.message.startsWith('DNS') ? error.message : `DNS: ${error.message}`,
        source: 'probe',
        scope: 'unit',
        at,
        // a name that does not exist is a fact; a resolver that did not answer may be a blip
        strength: unanswered ? 'suggests' : 'proves',
        role: 'cause',
        quotes: [checkQuote(error)],
      });
      break;
    }
  }
  // what the unit was doing: not running explains a refused (or reset, or timed out) check
  const active = unit?.activeState;
  if (unit && active !== undefined && active !== 'active' && active !== 'reloading') {
    const why = unit.result !== undefined && unit.result !== 'success' ? `, ${unit.result}` : '';
    const state = `${active}/${unit.subState ?? '?'}${why}`;
    let cause: string;
    if (active === 'activating') cause = unit.subState === 'auto-restart' ? `${ctx.unitName} is restarting (${state})` : `${ctx.unitName} is starting (${state})`;
    else if (active === 'deactivating') cause = `${ctx.unitName} is stopping (${state})`;
    else cause = `${ctx.unitName} is not running (${state})`;
    out.push({
      kind: 'not_running',
      cause,
      source: 'unit_properties',
      scope: 'unit',
      at: null,
      strength: 'proves',
      role: 'mechanism',
      quotes: [propsQuote(unit, ['ActiveState', 'SubState', 'Result', 'MainPID'])],
      explains: ['connection_refused', 'reset', 'timeout', 'http_status'],
    });
  }
  return out;
}

/** The unit is up but its health port refuses: nothing listens there (yet, or it listens elsewhere). */
function notListening(ctx: Ctx, error: SnapshotError, at: string): Evidence[] {
  const l = ctx.input.listening;
  if (!l || l.onHealthPort) return [];
  const unit = ctx.unit!;
  const since = unit.activeEnterAt ? ctx.ff - Date.parse(unit.activeEnterAt) : Number.NaN;
  // answered since this run began: it listened, and stopped; never answered: it is not listening yet
  const answered = (ctx.input.probes ?? []).some((p) => p.ok && unit.activeEnterAt !== undefined && p.at >= unit.activeEnterAt);
  const quotes = [checkQuote(error), `nothing listens on ${l.healthAddress} (/proc/net/tcp)`, propsQuote(unit, ['ActiveState', 'SubState', 'ActiveEnterTimestamp'])];
  let cause: string;
  if (since >= 0 && since < STARTING_UP_MS && !answered) cause = `${ctx.unitName} is active but not listening yet (started ${seconds(since)} ago)`;
  else {
    const elsewhere = l.unitListens && l.unitListens.length > 0 ? ` (it listens on ${l.unitListens.slice(0, 3).join(', ')})` : '';
    cause = `${ctx.unitName} is active but nothing listens on ${l.healthAddress}${elsewhere}`;
  }
  return [{ kind: 'not_listening', cause, source: 'probe', scope: 'unit', at, strength: 'suggests', role: 'cause', quotes, explains: ['connection_refused'] }];
}
