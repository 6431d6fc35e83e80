import { HostSampler } from '../sample/host';
import { summaryLine } from '../sample/format';
import type { Command } from './command';
import { sleep } from '../util/time';

// CPU % is a rate: a one-shot sample takes two readings this far apart.
const ONE_SHOT_GAP_MS = 250;
const WATCH_INTERVAL_MS = 1000;

export const sampleCommand: Command = {
  name: 'sample',
  summary: 'take one host sample (or one per second with --watch)',
  usage: 'sample [--json] [--watch]',
  options: {
    json: { type: 'boolean', description: 'print JSON (one object per line with --watch)' },
    watch: { type: 'boolean', short: 'w', description: 'sample every second until interrupted' },
  },
  positionals: [0, 0],
  async run({ io, values, signal }) {
    const sampler = new HostSampler({ disks: ['/'], capacity: 2 });
    const takeAndPrint = async (): Promise<void> => {
      await sampler.sample();
      const s = sampler.latest()!;
      io.out(values.json === true ? JSON.stringify(s) : `${s.at}  ${summaryLine(s)}`);
    };
    await sampler.sample();
    await sleep(ONE_SHOT_GAP_MS, signal);
    await takeAndPrint();
    while (values.watch === true && !signal.aborted) {
      await sleep(WATCH_INTERVAL_MS, signal);
      if (signal.aborted) break;
      await takeAndPrint();
    }
    for (const e of sampler.lastErrors) io.err(`preflight: ${e}`);
    return 0;
  },
};
