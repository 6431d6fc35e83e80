// The effective config printed back (`preflight start --check`): every setting with its value, secrets
// redacted, in the same YAML subset the parser reads, so the output is itself a valid preflight.yaml.
import { hostPort, type Config, type StatusRange } from './config';
import { formatMaintenance } from './maintenance';
import { formatHeaders, formatProbeOptions, REDACTED } from './service';
import { canonicalNumber, parseYaml } from './yaml';

/** A string as a YAML scalar our parser reads back as the same string: plain when safe, else double-quoted. */
function yamlString(s: string, flow = false): string {
  try {
    const doc = parseYaml(flow ? `k: [${s}]` : `k: ${s}`, '');
    const v = doc.kind === 'map' ? doc.entries.get('k')?.value : undefined;
    const scalar = flow && v?.kind === 'list' && v.items.length === 1 ? v.items[0] : v;
    if (scalar?.kind === 'scalar' && scalar.value === s) return s;
  } catch {
    // not safe as a plain scalar
  }
  return JSON.stringify(s);
}

/** A URL with its user info and query values redacted; with `path`, the path too (webhook tokens live there). */
function redactUrl(url: string, path: boolean): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return REDACTED;
  }
  const auth = u.username || u.password ? `${REDACTED}@` : '';
  const p = path && u.pathname !== '/' && u.pathname !== '' ? `/${REDACTED}` : u.pathname;
  const query = u.search ? `?${[...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=${REDACTED}`).join('&')}` : '';
  if (!auth && !path && !query) return url;
  return `${u.protocol}//${auth}${u.host}${p}${query}`;
}

function statusText(r: StatusRange): string {
  return r.min === r.max ? String(r.min) : `${r.min}-${r.max}`;
}

/**
 * The effective config as YAML our parser reads back, secrets replaced by "<redacted>": api_token,
 * header values, the webhook URL's path (Slack, Discord and ntfy keep their token or topic there), and
 * in every URL the user info and query values.
 */
export function formatConfig(c: Config): string {
  const s = (v: string): string => yamlString(v);
  const n = canonicalNumber;
  const out: string[] = [
    `# effective preflight configuration${c.file ? ` from ${c.file.replace(/[\r\n]/g, ' ')}` : ''}; secrets are shown as ${REDACTED}`,
    `snapshot_dir: ${s(c.snapshotDir)}`,
    `interval_seconds: ${n(c.intervalSeconds)}`,
    `timeout_seconds: ${n(c.timeoutSeconds)}`,
    `failure_threshold: ${n(c.failureThreshold)}`,
    `confirm_interval_seconds: ${n(c.confirmIntervalSeconds)}`,
    `sample_seconds: ${n(c.sampleSeconds)}`,
    `buffer_samples: ${n(c.bufferSamples)}`,
    `retention: ${n(c.retention)}`,
    `flap_window_seconds: ${n(c.flapWindowSeconds)}`,
    `reminder_seconds: ${n(c.reminderSeconds)}`,
    `journal_lines: ${n(c.journalLines)}`,
    `disks: [${c.disks.map((d) => yamlString(d, true)).join(', ')}]`,
    `listen: ${c.listen ? s(hostPort(c.listen.host, c.listen.port)) : 'off'}`,
  ];
  if (c.watchFailedUnits !== undefined) out.push(`watch_failed_units: ${c.watchFailedUnits}`);
  if (c.apiToken !== undefined) out.push(`api_token: ${s(REDACTED)}`);
  if (c.notifications) {
    const no = c.notifications;
    out.push('notifications:', `  webhook: ${s(redactUrl(no.webhook, true))}`, `  format: ${no.format}`);
    if (no.publicUrl !== undefined) out.push(`  public_url: ${s(redactUrl(no.publicUrl, false))}`);
    out.push(`  recovery: ${no.recovery}`);
    out.push(...formatHeaders(no.headers, '  ', s));
  }
  out.push('services:');
  for (const svc of c.services) {
    out.push(`  - name: ${s(svc.name)}`);
    if (svc.healthUrl !== null) out.push(`    health_url: ${s(redactUrl(svc.healthUrl, false))}`);
    if (svc.unit !== undefined) out.push(`    unit: ${s(svc.unit)}`);
    const ranges = svc.expectStatus.map(statusText);
    // a tcp:// check has no status (and refuses the key), a unit-only service no check at all
    if (svc.healthUrl !== null && !/^tcp:/i.test(svc.healthUrl)) out.push(`    expect_status: ${ranges.length === 1 ? ranges[0] : `[${ranges.join(', ')}]`}`);
    if (svc.expectBody !== undefined) out.push(`    expect_body: ${s(svc.expectBody)}`);
    // a unit-only service takes the top-level interval (its unit is polled with the others)
    if (svc.healthUrl !== null) out.push(`    interval_seconds: ${n(svc.intervalSeconds)}`);
    out.push(`    timeout_seconds: ${n(svc.timeoutSeconds)}`, `    buffer_samples: ${n(svc.bufferSamples)}`);
    out.push(...formatProbeOptions(svc, s));
  }
  out.push(...formatMaintenance(c.maintenance, s));
  return `${out.join('\n')}\n`;
}
