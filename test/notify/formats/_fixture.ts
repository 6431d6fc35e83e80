// A built payload against its reviewed file in fixtures/notify/. PREFLIGHT_WRITE_FIXTURES=1 writes the
// file instead, for a change meant to alter a payload: the diff is then reviewed against the docs.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

export function assertFixture(file: string, actual: unknown): void {
  const path = `fixtures/notify/${file}`;
  if (process.env.PREFLIGHT_WRITE_FIXTURES === '1') writeFileSync(path, `${JSON.stringify(actual, null, 2)}\n`);
  assert.deepEqual(actual, JSON.parse(readFileSync(path, 'utf8')), path);
}
