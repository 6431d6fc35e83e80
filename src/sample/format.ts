// One-line renderings of a host sample: the snapshot's `summary`, `preflight sample`, notifications.
import type { HostSample } from './host';

const pct = (x: number | null): string => (x === null ? '?' : `${Math.round(x)}%`);

/** e.g. `RAM 94% | swap 40% | disk / 87% | load 4.20 | cpu 99%`; swap is left out on a host without swap. */
export function summaryLine(s: HostSample): string {
  const parts = [`RAM ${pct(s.mem_used_percent)}`];
  if (s.swap_total_bytes !== 0 && s.swap_total_bytes !== null) parts.push(`swap ${pct(s.swap_used_percent)}`);
  const disks = Object.entries(s.disk_used_percent);
  if (disks.length > 0) parts.push(`disk ${disks.map(([path, used]) => `${path} ${pct(used)}`).join(' ')}`);
  parts.push(`load ${s.load1 === null ? '?' : s.load1.toFixed(2)}`);
  parts.push(`cpu ${pct(s.cpu_percent)}`);
  return parts.join(' | ');
}
