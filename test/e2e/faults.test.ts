// The fault suite: the BUILT bundle under the faults a flight recorder exists for (full, read-only and
// unwritable snapshot folders, kill -9 and SIGTERM at the worst moment, a missing, hung or flooding
// journalctl, a thousand services, webhooks that hang or fail, hostile API clients, malformed configs, a
// frozen daemon). Every row ends by checking that nothing was lost and by recording the daemon's peak RSS;
// the rows are independent and run concurrently. FAULT_ROWS=word,word runs only the rows whose name
// contains one of the words. Figures go to .cache/faults/figures.json (copied into bench/faults.md).
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { REPO } from './bundle';
import { figures, writeFigures } from './faults/harness';
import type { Row } from './faults/row';
import { commandRows } from './faults/commands';
import { configHealthRows } from './faults/config-health';
import { loadRows } from './faults/load';
import { restartRows } from './faults/restarts';
import { storageRows } from './faults/storage';

const rows: Row[] = [...storageRows, ...restartRows, ...commandRows, ...loadRows, ...configHealthRows];
const only = process.env.FAULT_ROWS?.split(',').filter(Boolean);
const t0 = Date.now();

describe('fault suite', { concurrency: true }, () => {
  for (const r of rows) {
    if (only && !only.some((w) => r.name.includes(w))) continue;
    test(r.name, { timeout: 110_000 }, r.run);
  }
  after(() => {
    writeFigures(path.join(REPO, '.cache', 'faults', 'figures.json'));
    const lines = figures.map((f) => `  ${f.row.padEnd(34)} peak RSS ${f.peakRssMiB === null ? '     -' : String(f.peakRssMiB).padStart(6)} MiB (bound ${f.boundMiB ?? '-'})  ${f.seconds} s${f.note ? `  ${f.note}` : ''}`);
    console.log(`fault suite: ${((Date.now() - t0) / 1000).toFixed(1)} s\n${lines.join('\n')}`);
  });
});
