// The service's own words through the whole diagnosis: real program output (fixtures/signatures, each
// line one journal entry of the run) with the exit or the failed check it came with. The FIRST finding,
// its scope and confidence; a runtime's fatal error is certain only when the run ended right after it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { SnapshotJournalLine } from '../../src/incident/snapshot';
import { FIXTURES, HTTP_503, at, check, disk, input, sample, sd, unit, type Case } from './_input';

const RUN = 'c32224f002cf4b2e907470c4a9a57cf7'; // the invocation of systemctl-show-healthy.txt
const HEALTHY = unit('systemctl-show-healthy.txt');

/** A fixture's lines as the journal holds a run's stdout/stderr: one entry each, 1 ms apart, ending at `end` s. */
function said(file: string, end = 0, invocation = RUN): SnapshotJournalLine[] {
  const lines = fs.readFileSync(path.join(FIXTURES, 'signatures', file), 'utf8').replace(/\n$/, '').split('\n');
  return lines.map((message, i) => ({ at: at(end - (lines.length - 1 - i) / 1000), priority: 6, pid: 70, message, invocation }));
}
const exited = (status: number, seconds = 0.05) => ({ code: 'exited' as const, status, at: at(seconds) });
const exitLine = (status: number, name: string, seconds = 0.05): SnapshotJournalLine =>
  sd(seconds, `app.service: Main process exited, code=exited, status=${status}/${name}`, 5, { invocation: RUN });

const run = (cases: Case[]): void => {
  for (const c of cases) test(c.name, () => void check(c.input, c.want));
};

describe("the service's own words name the cause", () => {
  run([
    {
      name: 'Node, uncaught ENOENT on its config, then exit 1: missing file, certain; the footer is never quoted',
      input: input({ trigger: 'unit_restart', deadInvocation: RUN, journal: [...said('errno/enoent.txt'), exitLine(1, 'FAILURE')], exit: exited(1) }),
      want: {
        first: { cause: 'missing file /etc/app/config.json', scope: 'invocation', confidence: 'certain' },
        causes: ['missing file /etc/app/config.json'],
        evidence: ["Error: ENOENT: no such file or directory, open '/etc/app/config.json'", 'status=1/FAILURE'],
        never: ['Node.js v20', 'status 1'],
      },
    },
    {
      name: 'a caught ECONNREFUSED logged as the 503 is answered: the dependency, likely',
      input: input({ unit: HEALTHY, error: HTTP_503, journal: said('errno/econnrefused-caught.txt', 0.01) }),
      want: {
        first: { cause: 'dependency 127.0.0.1:19310 refused connections', scope: 'invocation', confidence: 'likely' },
        causes: ['dependency 127.0.0.1:19310 refused connections'],
        evidence: ['database unreachable: connect ECONNREFUSED 127.0.0.1:19310', 'HTTP 503'],
        probableCause: 'dependency 127.0.0.1:19310 refused connections',
      },
    },
    {
      name: 'V8 heap out of memory, then SIGABRT with a core: the heap, certain; the native frames are not evidence',
      input: input({ trigger: 'unit_restart', deadInvocation: RUN, journal: said('runtime/node-heap-oom.txt'), exit: { code: 'dumped', status: 'ABRT', at: at(0.05) } }),
      want: { first: { cause: 'JavaScript heap out of memory (V8)', scope: 'invocation', confidence: 'certain' }, causes: ['JavaScript heap out of memory (V8)'], never: ['OOMErrorHandler'] },
    },
    {
      name: 'EMFILE under LimitNOFILE=64: out of file descriptors, with the limit',
      input: input({
        trigger: 'unit_restart',
        deadInvocation: RUN,
        unit: unit('systemctl-show-healthy.txt', 0, { LimitNOFILE: '64', LimitNOFILESoft: '64' }),
        journal: said('errno/emfile.txt'),
        exit: exited(1),
      }),
      want: { first: { cause: 'out of file descriptors: 64 of LimitNOFILE=64', scope: 'invocation', confidence: 'certain' } },
    },
    {
      name: 'ENOSPC logged while / is full: the service said so, and the full disk is its evidence',
      input: input({ unit: HEALTHY, error: HTTP_503, journal: said('errno/enospc-caught.txt', 0.01), samples: [sample(disk(99.5), 0)] }),
      want: {
        first: { cause: /^disk full: no space left on device/, scope: 'invocation', confidence: 'likely' },
        causes: [/^disk full: no space left on device/],
        evidence: ['disk / 99.5% used'],
      },
    },
    {
      name: 'a Python traceback, then exit 1: its last line, certain',
      input: input({ trigger: 'unit_restart', deadInvocation: RUN, journal: said('runtime/python-keyerror.txt'), exit: exited(1) }),
      want: { first: { cause: "Python exception: KeyError: 'DATABASE_URL'", scope: 'invocation', confidence: 'certain' } },
    },
    {
      name: 'a runtime fatal error without the run ending after it is only likely',
      input: input({ unit: HEALTHY, error: HTTP_503, journal: said('runtime/python-keyerror.txt', 0.01) }),
      want: { first: { cause: "Python exception: KeyError: 'DATABASE_URL'", scope: 'invocation', confidence: 'likely' } },
    },
    {
      name: 'an upstream timeout the service named, with its 503',
      input: input({ unit: HEALTHY, error: HTTP_503, journal: said('timeout/node-upstream-timeout.txt', 0.01) }),
      want: { first: { cause: /^timed out waiting for http:\/\/127\.0\.0\.1:19316\//, scope: 'invocation', confidence: 'likely' } },
    },
    {
      name: "a neighbour's words are not in this unit's journal, and an earlier run's are only the unit's",
      input: input({ unit: HEALTHY, error: HTTP_503, journal: said('errno/econnrefused-caught.txt', 0.01, 'an-earlier-run') }),
      want: { first: { cause: 'dependency 127.0.0.1:19310 refused connections', scope: 'unit', confidence: 'likely' } },
    },
    {
      name: 'the same error said fifty times counts once, with its count',
      input: input({ unit: HEALTHY, error: HTTP_503, journal: Array.from({ length: 50 }, (_, i) => said('errno/econnrefused-caught.txt', -i * 0.1)).flat().reverse() }),
      want: { causes: ['dependency 127.0.0.1:19310 refused connections'], evidence: ['said 50 times in the window'] },
    },
  ]);
});
