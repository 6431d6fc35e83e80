// How much does one host sample cost? Interleaved rounds in ONE process, median per sample of:
//   floor            readFileSync of the same /proc files + statfsSync, no parsing
//   preflight        HostSampler.sample() (reads, parses, statfs with a deadline, ring push, derive)
//   systeminformation currentLoad + mem + fsSize + currentLoad's load (the npm package doing the same job)
//   spawn            free, df, uptime (what a shell script would do)
import { spawnSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import si from 'systeminformation';
import { HostSampler } from '../src/sample/host';
import { median, nowMs, printTable } from './stats';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const WARMUP = 20;
const FILES = ['stat', 'meminfo', 'loadavg', 'pressure/cpu', 'pressure/memory', 'pressure/io'].map((f) => `/proc/${f}`);

type Variant = { name: string; run: () => unknown };

async function main(): Promise<void> {
  const sampler = new HostSampler({ disks: ['/'], capacity: 64 });
  const variants: Variant[] = [
    {
      name: 'floor',
      run: () => {
        for (const f of FILES) {
          try {
            readFileSync(f, 'latin1');
          } catch {
            /* no PSI here: the floor reads what exists */
          }
        }
        statfsSync('/');
      },
    },
    { name: 'preflight', run: () => sampler.sample() },
    {
      name: 'systeminformation',
      run: () => Promise.all([si.currentLoad(), si.mem(), si.fsSize()]),
    },
    {
      name: 'spawn',
      run: () => {
        for (const [cmd, args] of [
          ['free', ['-b']],
          ['df', ['-P', '-k', '/']],
          ['uptime', []],
        ] as const) {
          const r = spawnSync(cmd, args, { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
        }
      },
    },
  ];
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    // rotate the order so no variant always runs first (cold caches) or last
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const t0 = nowMs();
      await v.run();
      const dt = nowMs() - t0;
      if (round >= WARMUP) times.get(v.name)!.push(dt);
    }
  }
  const med = Object.fromEntries([...times].map(([k, xs]) => [k, median(xs)])) as Record<string, number>;
  const floor = med.floor!;
  const pre = med.preflight!;
  console.log(`host sample cost, median of ${ROUNDS} interleaved rounds (node ${process.version}, ${process.arch})`);
  printTable([
    ['variant', 'median ms', 'x floor'],
    ...variants.map((v) => [v.name, med[v.name]!.toFixed(4), (med[v.name]! / floor).toFixed(1)]),
  ]);
  console.log(
    `RESULT floor_ratio=${(pre / floor).toFixed(2)} systeminformation_ratio=${(med.systeminformation! / pre).toFixed(0)} spawn_ratio=${(med.spawn! / pre).toFixed(0)}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
