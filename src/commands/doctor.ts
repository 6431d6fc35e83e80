// preflight doctor: every check for the config in use, one line each, a fix under each failure.
import { runDoctor, type Check, type DoctorReport } from '../doctor/checks';
import { EXIT_NOT_FOUND, EXIT_OK, type Command } from './command';

/** `ok   name (detail)`, `warn name: detail`, `FAIL name: detail`, each problem followed by `     fix: ...`. */
export function renderDoctor(report: DoctorReport): string {
  const lines: string[] = [];
  for (const c of report.checks) lines.push(...renderCheck(c));
  const failed = report.checks.filter((c) => !c.ok).length;
  const warned = report.checks.filter((c) => c.warning).length;
  const n = report.checks.length;
  const warnings = warned > 0 ? `, ${warned} warning${warned === 1 ? '' : 's'}` : '';
  lines.push('', failed === 0 ? `all ${n} checks passed${warnings}` : `${failed} of ${n} checks failed${warnings}`);
  return lines.join('\n');
}

function renderCheck(c: Check): string[] {
  const head = c.ok && !c.warning ? `ok   ${c.name}${c.detail ? ` (${c.detail})` : ''}` : `${c.ok ? 'warn' : 'FAIL'} ${c.name}: ${c.detail}`;
  return c.fix !== undefined && (!c.ok || c.warning) ? [head, `     fix: ${c.fix}`] : [head];
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check config, snapshot folder, journal access, units, PSI, health URLs; say how to fix each',
  usage: 'doctor [--json]',
  options: { json: { type: 'boolean', description: 'print {ok, checks: [{name, ok, detail, fix?, warning?}]}' } },
  positionals: [0, 0],
  async run({ io, values, env }) {
    const report = await runDoctor({ configFlag: values.config as string | undefined, env });
    io.out(values.json === true ? JSON.stringify(report, null, 2) : renderDoctor(report));
    return report.ok ? EXIT_OK : EXIT_NOT_FOUND;
  },
};
