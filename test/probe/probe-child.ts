// Helper for test/probe/http.test.ts, run as a child process (not a test): probes each URL of argv[3…]
// argv[2] times in a row and prints the results, in order, as one JSON line. A child, because the only
// way to make Node trust a test CA with normal verification is NODE_EXTRA_CA_CERTS, which Node reads
// once at startup.
import { probe, type ProbeResult } from '../../src/probe/http';

async function main(): Promise<void> {
  const times = Number(process.argv[2] ?? 1);
  const results: ProbeResult[] = [];
  for (const url of process.argv.slice(3)) {
    for (let i = 0; i < times; i++) results.push(await probe({ url, timeoutMs: 5000, expectStatus: [{ min: 200, max: 299 }], expectBody: 'ok' }));
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

void main();
