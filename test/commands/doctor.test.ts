// The text form of `preflight doctor`: one line per check, a fix line under each problem, a tally.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderDoctor } from '../../src/commands/doctor';
import type { Check, DoctorReport } from '../../src/doctor/checks';

const report = (checks: Check[]): DoctorReport => ({ ok: checks.every((c) => c.ok), checks });

describe('renderDoctor', () => {
  const cases: Array<{ name: string; input: Check[]; want: string[] }> = [
    {
      name: 'all ok',
      input: [{ name: 'config valid', ok: true, detail: '/etc/preflight.yaml, 3 services' }],
      want: ['ok   config valid (/etc/preflight.yaml, 3 services)', '', 'all 1 checks passed'],
    },
    {
      name: 'a failure with its fix',
      input: [
        { name: 'config valid', ok: true, detail: '/etc/preflight.yaml, 3 services' },
        { name: 'journal readable for dead-drop.service', ok: false, detail: 'denied', fix: 'usermod -aG systemd-journal preflight' },
      ],
      want: [
        'ok   config valid (/etc/preflight.yaml, 3 services)',
        'FAIL journal readable for dead-drop.service: denied',
        '     fix: usermod -aG systemd-journal preflight',
        '',
        '1 of 2 checks failed',
      ],
    },
    {
      name: 'a warning passes, shown with its note',
      input: [{ name: 'PSI available', ok: true, warning: true, detail: 'no /proc/pressure', fix: 'optional' }],
      want: ['warn PSI available: no /proc/pressure', '     fix: optional', '', 'all 1 checks passed, 1 warning'],
    },
    {
      name: 'an ok check never shows a fix',
      input: [{ name: 'x', ok: true, detail: 'fine', fix: 'not shown' }],
      want: ['ok   x (fine)', '', 'all 1 checks passed'],
    },
    { name: 'no checks', input: [], want: ['', 'all 0 checks passed'] },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(renderDoctor(report(c.input)).split('\n'), c.want));
  }
});
