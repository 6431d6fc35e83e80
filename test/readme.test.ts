// The README's "What you get" is what `preflight last` prints for the stored corpus incident it names,
// untrimmed: regenerated, never edited by hand (a change to the renderer or a recapture shows up here).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { renderSnapshot } from '../src/incident/render';
import type { Snapshot } from '../src/incident/snapshot';

const ROOT = path.join(__dirname, '..');

test("README's What you get is preflight last of fixtures/scenarios/econnrefused.snapshot.json", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## What you get'));
  const shown = /```\n([\s\S]*?)\n```/.exec(section)?.[1];
  const s = JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'scenarios', 'econnrefused.snapshot.json'), 'utf8')) as Snapshot;
  // where it was, in the sandbox that recorded it: /var/lib/preflight (StateDirectory=)
  const printed = renderSnapshot(s, { path: `/var/lib/preflight/${s.service}/${s.id}.json` });
  assert.equal(shown, printed, 'regenerate the README example from the fixture (renderSnapshot with this path), untrimmed');
});
