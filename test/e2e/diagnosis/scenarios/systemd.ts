// Scenarios whose cause is in systemd's or the kernel's record: how the run ended, the OOM killer,
// start limits, dependencies, setup codes, watchdog and start timeouts, unit limits; and the planned
// restarts and stops that are not failures at all.
import { AROUND, PORT } from '../ports';
import { binaryUnit, esc, exited, flakyExec, killed, nodeExec, nodeUnit, simple, trigger, unitFile, watch, type Scenario } from '../scenario';

const flaky = (port: number, o: { restartSec?: string; service?: string[]; unit?: string[]; restart?: string } = {}): string =>
  unitFile({ about: `flaky test service on 127.0.0.1:${port}`, exec: flakyExec, env: { PORT: port }, ...o });

/** A deploy: words.js as the unit, then act() adds the drop-in, daemon-reloads and restarts it. */
function deploy(name: keyof typeof PORT, dropIn: string, rest: Omit<Scenario, 'name' | 'units' | 'services' | 'act'>): Scenario {
  return simple(name, nodeUnit(name, 'words.js'), {
    ...rest,
    act: async (_sb, ctx) => {
      await ctx.dropIn(`${name}.service`, dropIn);
      await ctx.systemctl('restart', '--no-block', `${name}.service`);
    },
  });
}

const oomLine = (unit: string) => (ctx: { cgroup: string }) => new RegExp(`oom_memcg=/${esc(ctx.cgroup)}/system\\.slice/${esc(unit)}`);

export const SYSTEMD_RECORD: Scenario[] = [
  {
    name: 'crash-exit3',
    about: 'exits 3 and is restarted within 0.5 s, between two health checks 5 s apart',
    units: { 'crash-exit3.service': flaky(PORT['crash-exit3'], { restartSec: '500ms' }) },
    services: [watch('crash-exit3', PORT['crash-exit3'], { interval_seconds: 5 })],
    act: (_sb, ctx) => trigger(ctx, PORT['crash-exit3'], '/crash'),
    happened: { journal: [['crash-exit3.service', /about to crash with exit 3/], exited('crash-exit3.service', '3/NOTIMPLEMENTED')] },
    recorded: { journal: [/about to crash with exit 3/] },
    want: { cause: /^exited with status 3/, scope: 'invocation', confidence: 'certain' },
  },
  {
    name: 'oom-own',
    about: 'MemoryMax=64M and an allocating loop: the kernel OOM-kills it',
    units: { 'oom-own.service': flaky(PORT['oom-own'], { restartSec: '2', service: ['MemoryMax=64M'] }) },
    services: [watch('oom-own', PORT['oom-own'])],
    act: (_sb, ctx) => trigger(ctx, PORT['oom-own'], '/hog'),
    happened: { kernel: [oomLine('oom-own.service')], journal: [killed('oom-own.service', '9/KILL')] },
    recorded: { kernel: [oomLine('oom-own.service')] },
    want: { cause: /^killed by the kernel's OOM killer: node \(pid \d+\) at the unit's memory limit/, scope: 'unit', confidence: 'certain' },
  },
  {
    name: 'stop-after-crash',
    about: 'crashes, recovers (reported), then `systemctl stop`: the second incident is the stop',
    units: { 'stop-after-crash.service': flaky(PORT['stop-after-crash']) },
    services: [watch('stop-after-crash', PORT['stop-after-crash'])],
    act: async (_sb, ctx) => {
      await trigger(ctx, PORT['stop-after-crash'], '/crash');
      await ctx.snapshot('stop-after-crash', 0, (s) => s.recovery !== null);
      await ctx.systemctl('stop', 'stop-after-crash.service');
    },
    judge: 1,
    happened: { journal: [exited('stop-after-crash.service', '3/NOTIMPLEMENTED'), ['stop-after-crash.service', /^Stopped stop-after-crash\.service/m]], show: [['stop-after-crash.service', { ActiveState: 'inactive' }]] },
    want: { cause: /^stopped on request at \d\d:\d\d:\d\d/, scope: 'unit', confidence: 'certain' },
    mustNotName: [/status 3/],
  },
  simple('segv', binaryUnit('segv', 'segv'), {
    about: 'a C server dereferences NULL: SIGSEGV (no core: the sandbox\'s LimitCORE soft limit is 0)',
    needs: ['gcc'],
    happened: { kernel: [/^segv\[\d+\]: segfault at 0 /], journal: [killed('segv.service', '11/SEGV')] },
    recorded: { journal: [/code=killed, status=11\/SEGV/] },
    // systemd says code=killed here (no core dump), so the wording is "killed by", not "crashed on"
    want: { cause: /^killed by signal 11 \(SIGSEGV\)/, scope: 'invocation', confidence: 'certain' },
  }),
  {
    name: 'crash-loop',
    about: 'every start after /flag logs "fatal: missing DATABASE_URL" and exits 1; systemd gives up after 3',
    units: {
      'crash-loop.service': unitFile({
        about: 'diagnosis corpus: crash-loop',
        exec: nodeExec('words.js'),
        env: { PORT: PORT['crash-loop'], FLAG: '@SCRATCH@/crash-loop.flag', FATAL: 'fatal: missing DATABASE_URL' },
        restart: 'always',
        restartSec: '100ms',
        unit: ['StartLimitBurst=3', 'StartLimitIntervalSec=30'],
      }),
    },
    services: [watch('crash-loop', PORT['crash-loop'])],
    act: async (_sb, ctx) => {
      // the boot's own start counts against the limit: start counting from here
      await ctx.systemctl('reset-failed', 'crash-loop.service');
      await trigger(ctx, PORT['crash-loop'], '/flag');
      await trigger(ctx, PORT['crash-loop'], '/crash');
    },
    // systemd 252 keeps the last run's Result (exit-code) when an auto-restart hits the start limit: the
    // manager's "Start request repeated too quickly." line is the record of it
    happened: { journal: [['crash-loop.service', /^fatal: missing DATABASE_URL$/m], ['crash-loop.service', /^crash-loop\.service: Start request repeated too quickly\.$/m]], show: [['crash-loop.service', { ActiveState: 'failed' }]] },
    recorded: { journal: [/^fatal: missing DATABASE_URL$/] },
    // the incident opens at the first crash; it becomes a crash loop when systemd gives up
    settleMs: 3000,
    want: { cause: /^crash loop: systemd gave up after \d+ restarts \(start-limit-hit\); last run: it logged "fatal: missing DATABASE_URL"$/, scope: 'unit', confidence: 'certain' },
  },
  {
    name: 'dependency-failed',
    about: 'its Requires=/After= db check fails on the next start; `systemctl restart` of the app',
    units: {
      'dependency-failed.service': unitFile({
        about: 'diagnosis corpus: dependency-failed app',
        exec: nodeExec('words.js'),
        env: { PORT: PORT['dependency-failed'], FLAG: '@SCRATCH@/dependency-failed-db.flag' },
        unit: ['Requires=dependency-failed-db.service', 'After=dependency-failed-db.service'],
      }),
      // a oneshot (RemainAfterExit=no): every start of the app runs it again
      'dependency-failed-db.service': [
        '[Unit]',
        'Description=diagnosis corpus: dependency-failed db schema check',
        '[Service]',
        'Type=oneshot',
        'ExecStart=/bin/sh -c \'if [ -e "@SCRATCH@/dependency-failed-db.flag" ]; then echo "db: data directory is locked by another instance" >&2; exit 1; fi; echo "db: schema ok"\'',
        '',
      ].join('\n'),
    },
    start: ['dependency-failed.service'],
    services: [watch('dependency-failed', PORT['dependency-failed'])],
    act: async (_sb, ctx) => {
      // the app's /flag writes the file that makes the db check fail
      await trigger(ctx, PORT['dependency-failed'], '/flag');
      await ctx.systemctl('restart', '--no-block', 'dependency-failed.service');
    },
    happened: { journal: [['dependency-failed-db.service', /db: data directory is locked by another instance/], ['dependency-failed.service', /Dependency failed for dependency-failed\.service/]], show: [['dependency-failed-db.service', { Result: 'exit-code' }]] },
    want: { cause: /^dependency dependency-failed-db\.service failed \(exit-code\)/, scope: 'dependency', confidence: 'certain' },
  },
  {
    name: 'bindsto',
    about: 'BindsTo=/After= a db (Restart=no) that crashes: systemd stops the app',
    units: {
      'bindsto.service': unitFile({
        about: 'diagnosis corpus: bindsto app',
        exec: nodeExec('words.js'),
        env: { PORT: PORT.bindsto },
        unit: ['BindsTo=bindsto-db.service', 'After=bindsto-db.service'],
      }),
      'bindsto-db.service': flaky(AROUND.bindsDb, { restart: 'no' }),
    },
    start: ['bindsto.service'],
    services: [watch('bindsto', PORT.bindsto)],
    act: (_sb, ctx) => trigger(ctx, AROUND.bindsDb, '/crash'),
    happened: { journal: [exited('bindsto-db.service', '3/NOTIMPLEMENTED'), ['bindsto.service', /^Stopped bindsto\.service/m]], show: [['bindsto-db.service', { ActiveState: 'failed' }], ['bindsto.service', { ActiveState: 'inactive' }]] },
    want: { cause: /^stopped because bindsto-db\.service \(BindsTo=\) failed/, scope: 'dependency', confidence: 'certain' },
  },
  deploy('exec-203', '[Service]\nExecStart=\nExecStart=/nonexistent/bin/app\n', {
    about: 'a deploy points ExecStart= at a binary that is not there: status 203/EXEC',
    // the exec child's own lines carry UNIT= and INVOCATION_ID=, but under load it can be gone before
    // journald looks up its cgroup: then they lack _SYSTEMD_UNIT and `journalctl -u` does not show them
    happened: {
      journal: [exited('exec-203.service', '203/EXEC')],
      anyJournal: [/^exec-203\.service: Failed at step EXEC spawning \/nonexistent\/bin\/app: No such file or directory$/],
    },
    // the failing run's own exit, like any exit status: invocation
    want: { cause: /^could not execute \/nonexistent\/bin\/app: No such file or directory \(status 203\/EXEC\)/, scope: 'invocation', confidence: 'certain' },
  }),
  simple('watchdog', nodeUnit('watchdog', 'watchdog.js', { service: ['Type=notify', 'NotifyAccess=all', 'WatchdogSec=2'] }), {
    about: 'Type=notify with WatchdogSec=2: its keep-alives stop, systemd kills it (SIGABRT)',
    needs: ['systemd-notify'],
    happened: { journal: [['watchdog.service', /Watchdog timeout \(limit 2s\)!/], ['watchdog.service', /Failed with result 'watchdog'/]] },
    want: { cause: /^watchdog timeout: no keep-alive within 2s \(WatchdogSec=\)/, scope: 'unit', confidence: 'certain' },
  }),
  deploy('start-timeout-deploy', '[Service]\nExecStartPre=/bin/sleep 30\nTimeoutStartSec=3\n', {
    about: 'a deploy adds ExecStartPre=/bin/sleep 30 with TimeoutStartSec=3: the start times out',
    happened: { journal: [['start-timeout-deploy.service', /start-pre operation timed out\. Terminating\./], ['start-timeout-deploy.service', /Failed with result 'timeout'/]] },
    want: { cause: /^did not finish starting within 3s \(TimeoutStartSec=\)/, scope: 'unit', confidence: 'certain' },
  }),
  simple('memory-limit', nodeUnit('memory-limit', 'memory.js', { env: { TARGET_PERCENT: 97 }, service: ['MemoryMax=200M'] }), {
    about: 'MemoryMax=200M: it holds 97% of it and answers 503 "busy" (no OOM kill)',
    happened: { journal: [['memory-limit.service', /report buffers: \d+ MiB held, cgroup usage \d+ of 209715200 bytes/]], show: [['memory-limit.service', { ActiveState: 'active', MemoryMax: '209715200' }]] },
    recorded: { error: { kind: 'http_status', message: /503/ }, unit: { MemoryCurrent: /^(19\d|20\d)\d{6}$/ } },
    want: { cause: /^memory at (9[5-9]|100)% of MemoryMax=200M/, scope: 'unit', confidence: 'likely' },
  }),
  simple('tasks-limit', nodeUnit('tasks-limit', 'tasks.js', { service: ['TasksMax=16'] }), {
    about: 'TasksMax=16: it starts workers until fork fails with EAGAIN, answers 503',
    happened: { journal: [['tasks-limit.service', /error: cannot start worker: spawn sleep EAGAIN/]], show: [['tasks-limit.service', { TasksCurrent: '16', TasksMax: '16' }]] },
    recorded: { error: { kind: 'http_status', message: /503/ }, journal: [/spawn sleep EAGAIN/], unit: { TasksCurrent: '16' } },
    want: { cause: /^tasks at 16 of TasksMax=16/, scope: 'unit', confidence: 'likely' },
  }),
  {
    name: 'requested-restart',
    about: '`systemctl restart` of a healthy unit that is back within a second: no incident',
    units: { 'requested-restart.service': flaky(PORT['requested-restart']) },
    services: [watch('requested-restart', PORT['requested-restart'])],
    act: async (_sb, ctx) => {
      ctx.notes.before = (await ctx.systemctl('show', '-p', 'InvocationID', '--value', 'requested-restart.service')).stdout.trim();
      await ctx.systemctl('restart', 'requested-restart.service');
      await ctx.healthy(PORT['requested-restart']);
    },
    happened: {
      journal: [['requested-restart.service', /^Stopping requested-restart\.service/m], ['requested-restart.service', /^Started requested-restart\.service[^]*^Started requested-restart\.service/m]],
      // a new run (another InvocationID), and not one systemd counted as a restart after a failure
      show: [['requested-restart.service', { ActiveState: 'active', NRestarts: '0', InvocationID: (ctx) => new RegExp(`^(?!${ctx.notes.before}$)[0-9a-f]{32}$`) }]],
    },
    noIncident: true,
  },
  {
    name: 'slow-restart-ok',
    about: 'a deploy adds ExecStartPre=/bin/sleep 3, restart: down 3 s, back well within its start timeout',
    units: { 'slow-restart-ok.service': flaky(PORT['slow-restart-ok']) },
    services: [watch('slow-restart-ok', PORT['slow-restart-ok'])],
    act: async (_sb, ctx) => {
      await ctx.dropIn('slow-restart-ok.service', '[Service]\nExecStartPre=/bin/sleep 3\n');
      await ctx.systemctl('restart', '--no-block', 'slow-restart-ok.service');
      await ctx.sleep(1000);
      await ctx.healthy(PORT['slow-restart-ok']);
    },
    happened: { journal: [['slow-restart-ok.service', /^Stopping slow-restart-ok\.service/m]], show: [['slow-restart-ok.service', { ActiveState: 'active', NRestarts: '0' }]] },
    noIncident: true,
  },
  {
    name: 'alias',
    about: 'the config names the unit by an alias (crash-alias.service -> alias-target.service); it exits 3',
    units: { 'alias-target.service': flaky(PORT.alias) },
    links: { 'crash-alias.service': 'alias-target.service' },
    start: ['crash-alias.service'],
    services: [watch('alias', PORT.alias, { unit: 'crash-alias.service' })],
    act: (_sb, ctx) => trigger(ctx, PORT.alias, '/crash'),
    happened: { journal: [['alias-target.service', /about to crash with exit 3/], exited('alias-target.service', '3/NOTIMPLEMENTED')] },
    recorded: { journal: [/about to crash with exit 3/] },
    want: { cause: /^exited with status 3/, scope: 'invocation', confidence: 'certain' },
    also: (snap) => {
      if (snap.unit?.Id !== 'alias-target.service') throw new Error(`the snapshot's unit Id is ${JSON.stringify(snap.unit?.Id)}, not the canonical alias-target.service`);
    },
  },
];

