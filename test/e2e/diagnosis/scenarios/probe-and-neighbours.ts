// Scenarios read from the probe and the unit's state (a hang, TLS, a port nobody listens on), and the
// neighbour cases: a failure right after something else went wrong that must NOT be blamed (another
// unit's OOM kill, this unit's own earlier incident, a segfault outside the unit).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AROUND, PORT } from '../ports';
import { esc, flakyExec, nodeExec, nodeUnit, simple, trigger, unitFile, watch, type Scenario, type Want } from '../scenario';

const flaky = (port: number, service: string[] = []): string =>
  unitFile({ about: `flaky test service on 127.0.0.1:${port}`, exec: flakyExec, env: { PORT: port }, service });

/**
 * An HTTPS service (tls.js) serving the good certificate, swapped for `cert` on /break (certificates:
 * certificates() in harness.ts, with test/probe/_certs.ts); the act proves that a verifying handshake now fails with `code`.
 */
function tls(name: keyof typeof PORT, about: string, cert: string, code: string, want: Want): Scenario {
  const port = PORT[name];
  return {
    name,
    about,
    needs: ['openssl'],
    units: nodeUnit(name, 'tls.js', { env: { TLS_DIR: '@SCRATCH@/tls', CERT: 'good', BREAK_CERT: cert } }),
    services: [watch(name, port, { health_url: `https://127.0.0.1:${port}/health` })],
    act: async (_sb, ctx) => {
      await trigger(ctx, port, '/break', { https: true });
      const r = await ctx.get(port, '/health', { https: true, verify: true });
      if (r !== code) throw new Error(`after the swap a verifying GET of 127.0.0.1:${port} got ${r}, not ${code}`);
    },
    happened: { journal: [[`${name}.service`, new RegExp(`installing certificate ${cert}`)]] },
    recorded: { error: { kind: 'tls', code } },
    want,
  };
}

/**
 * The name dns-gone's health URL uses. The sandbox resolves names from files only (diagnosis.test.ts
 * bind-mounts an nsswitch.conf with `hosts: files` and a copy of /etc/hosts that holds this name), so the
 * lookup is glibc's real getaddrinfo without any network; the scenario removes the name from the copy.
 */
export const DNS_NAME = 'dns-gone.corpus.test';
/** Where, in the sandbox's state folder, the copy of /etc/hosts is. */
export const DNS_HOSTS_FILE = 'corpus-dns/hosts';

export const PROBE_AND_NEIGHBOURS: Scenario[] = [
  {
    name: 'dns-gone',
    about: `its health URL's name (${DNS_NAME}) stops resolving: it is taken out of /etc/hosts`,
    units: { 'dns-gone.service': flaky(PORT['dns-gone']) },
    services: [watch('dns-gone', PORT['dns-gone'], { health_url: `http://${DNS_NAME}:${PORT['dns-gone']}/health` })],
    act: async (sb) => {
      const hosts = path.join(sb.stateDir, DNS_HOSTS_FILE);
      // in place (same inode): the file is bind-mounted over /etc/hosts
      fs.writeFileSync(hosts, fs.readFileSync(hosts, 'utf8').split('\n').filter((l) => !l.includes(DNS_NAME)).join('\n'));
      const r = await sb.exec(['getent', 'hosts', DNS_NAME]);
      if (r.exitCode !== 2) throw new Error(`getent hosts ${DNS_NAME} still answers (${r.exitCode}): ${r.stdout}`);
    },
    happened: { show: [['dns-gone.service', { ActiveState: 'active', SubState: 'running' }]] },
    recorded: { error: { kind: 'dns', message: new RegExp(`no such name ${esc(DNS_NAME)}`) } },
    want: { cause: new RegExp(`^DNS: no such name ${esc(DNS_NAME)}$`), scope: 'unit', confidence: 'certain' },
  },
  {
    name: 'hang',
    about: 'the unit stays active (running) but /health never answers',
    units: { 'hang.service': flaky(PORT.hang) },
    services: [watch('hang', PORT.hang)],
    act: (_sb, ctx) => trigger(ctx, PORT.hang, '/freeze'),
    happened: { journal: [['hang.service', /freezing: \/health will not answer/]], show: [['hang.service', { ActiveState: 'active', SubState: 'running' }]] },
    recorded: { error: { kind: 'timeout' } },
    want: { cause: /^hung, not crashed: hang\.service stayed active \(running\) but timed out/, scope: 'unit', confidence: 'likely' },
  },
  tls('tls-expired', 'an HTTPS service swaps in a certificate that expired on 2020-02-01', 'expired', 'CERT_HAS_EXPIRED', {
    cause: /^TLS certificate expired at 2020-02-01T00:00:00(\.000)?Z \(CN=diag-tls\)/,
    scope: 'unit',
    confidence: 'certain',
  }),
  tls('tls-hostname', 'an HTTPS service swaps in a (valid) certificate for example.invalid', 'wronghost', 'ERR_TLS_CERT_ALTNAME_INVALID', {
    cause: /^TLS hostname mismatch: the certificate is for example\.invalid, not 127\.0\.0\.1/,
    scope: 'unit',
    confidence: 'certain',
  }),
  simple('listening-elsewhere', nodeUnit('listening-elsewhere', 'move.js', { env: { NEW_PORT: AROUND.elsewhere } }), {
    about: 'stays active but moves its listener to another port: the health port refuses',
    act: async (_sb, ctx) => {
      await trigger(ctx, PORT['listening-elsewhere']);
      await ctx.healthy(AROUND.elsewhere); // the proof: it answers on the other port
    },
    happened: { journal: [['listening-elsewhere.service', /moving to 127\.0\.0\.1:19152/]], show: [['listening-elsewhere.service', { ActiveState: 'active' }]] },
    recorded: { error: { kind: 'connection_refused' }, unit: { ActiveState: 'active' } },
    want: { cause: /^listening-elsewhere\.service is active but nothing listens on 127\.0\.0\.1:19020/, scope: 'unit', confidence: 'likely' },
  }),
  {
    name: 'neighbour-oom-hang',
    about: 'another unit (MemoryMax=64M) is OOM-killed; right after, this one (no limit) hangs',
    units: { 'neighbour-oom-hang.service': flaky(PORT['neighbour-oom-hang']), 'neighbour-hog.service': flaky(AROUND.neighbourHog, ['MemoryMax=64M']) },
    services: [watch('neighbour-oom-hang', PORT['neighbour-oom-hang'])],
    act: async (_sb, ctx) => {
      ctx.notes.hogPid = await ctx.mainPid('neighbour-hog.service');
      await trigger(ctx, AROUND.neighbourHog, '/hog');
      const line = await ctx.kernelLine(new RegExp(`oom_memcg=/${esc(ctx.cgroup)}/system\\.slice/neighbour-hog\\.service.*,pid=(\\d+)`));
      ctx.notes.hogHostPid = /,pid=(\d+)/.exec(line)?.[1] ?? '';
      await trigger(ctx, PORT['neighbour-oom-hang'], '/freeze');
    },
    happened: {
      kernel: [(ctx) => new RegExp(`oom_memcg=/${esc(ctx.cgroup)}/system\\.slice/neighbour-hog\\.service`)],
      journal: [['neighbour-oom-hang.service', /freezing: \/health will not answer/]],
      show: [['neighbour-oom-hang.service', { ActiveState: 'active' }]],
    },
    recorded: { error: { kind: 'timeout' }, kernel: [(ctx) => new RegExp(`oom_memcg=/${esc(ctx.cgroup)}/system\\.slice/neighbour-hog\\.service`)] },
    want: { cause: /^hung, not crashed: neighbour-oom-hang\.service stayed active \(running\) but timed out/, scope: 'unit', confidence: 'likely' },
    mustNotName: [/OOM kill|OOM killer|out of memory/i, /neighbour-hog/, (ctx) => new RegExp(`pid (${ctx.notes.hogPid}|${ctx.notes.hogHostPid})\\b`)],
  },
  {
    name: 'stale-crash-then-log',
    about: 'crashes (exit 3), recovers, and 5 s later logs "error: cache full" and answers 503',
    units: nodeUnit('stale-crash-then-log', 'words.js', { env: { LINE: 'error: cache full' } }),
    services: [watch('stale-crash-then-log', PORT['stale-crash-then-log'])],
    act: async (_sb, ctx) => {
      await trigger(ctx, PORT['stale-crash-then-log'], '/crash');
      await ctx.snapshot('stale-crash-then-log', 0, (s) => s.recovery !== null);
      await ctx.sleep(5000);
      await trigger(ctx, PORT['stale-crash-then-log']);
    },
    judge: 1,
    happened: { journal: [['stale-crash-then-log.service', /about to crash with exit 3/], ['stale-crash-then-log.service', /^error: cache full$/m]] },
    recorded: { journal: [/^error: cache full$/] },
    want: { cause: /^the service logged: error: cache full/, scope: 'invocation', confidence: 'likely', quote: /^error: cache full/ },
    mustNotName: [/status 3/],
  },
  {
    name: 'unrelated-segfault',
    about: 'a program in another (transient) unit segfaults; then this service logs "error: queue stalled", 503',
    needs: ['gcc'],
    units: { 'unrelated-segfault.service': unitFile({ about: 'diagnosis corpus: unrelated-segfault', exec: nodeExec('words.js'), env: { PORT: PORT['unrelated-segfault'], LINE: 'error: queue stalled' } }) },
    services: [watch('unrelated-segfault', PORT['unrelated-segfault'])],
    act: async (sb, ctx) => {
      // a transient unit of its own, gone (--collect) once it died
      await sb.exec(['systemd-run', '--quiet', '--collect', '--unit=unrelated-stray', `${ctx.scratch}/bin/stray-segv`, '--now']);
      await ctx.kernelLine(/stray-segv\[\d+\]: segfault at 0 /);
      await trigger(ctx, PORT['unrelated-segfault']);
    },
    happened: { kernel: [/stray-segv\[\d+\]: segfault at 0 /], journal: [['unrelated-segfault.service', /^error: queue stalled$/m]] },
    recorded: { journal: [/^error: queue stalled$/] },
    want: { cause: /^the service logged: error: queue stalled/, scope: 'invocation', confidence: 'likely', quote: /^error: queue stalled/ },
    mustNotName: [/segfault/i, /SIGSEGV/, /signal 11/, /stray/],
  },
];
