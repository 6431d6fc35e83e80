import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scanSignatures } from '../../../src/diagnosis/signatures/index';
import { FIXTURES, fixtureLines, range, withQuotes } from './_helpers';

describe('scanSignatures over one run', () => {
  it('every match of a run, in line order, all families', () => {
    const lines = [
      'listening on 127.0.0.1:8080',
      ...fixtureLines('timeout', 'node-upstream-timeout'),
      ...fixtureLines('errno', 'econnrefused-caught'),
      'retrying in 1s',
      ...fixtureLines('errno', 'enoent'),
    ];
    assert.deepEqual(withQuotes(lines, scanSignatures(lines)), [
      { id: 'timeout.named', family: 'timeout', cause: 'timed out waiting for http://127.0.0.1:19316/', line: 1, lines: [1], strength: 'suggests', object: { target: 'http://127.0.0.1:19316/' }, quote: 'upstream timeout: GET http://127.0.0.1:19316/ timed out after 500ms' },
      { id: 'errno.ECONNREFUSED', family: 'errno', cause: 'dependency 127.0.0.1:19310 refused connections', line: 2, lines: [2], strength: 'suggests', object: { errno: 'ECONNREFUSED', peer: '127.0.0.1:19310' }, quote: 'database unreachable: connect ECONNREFUSED 127.0.0.1:19310' },
      { id: 'errno.ENOENT', family: 'errno', cause: 'missing file /etc/app/config.json', line: 8, lines: range(4, 23), strength: 'proves', object: { errno: 'ENOENT', path: '/etc/app/config.json', runtime: 'node' }, quote: "Error: ENOENT: no such file or directory, open '/etc/app/config.json'" },
    ]);
  });

  it('empty input', () => assert.deepEqual(scanSignatures([]), []));

  // Whether journald keeps a printed blank line as an entry depends on the reader; every fixture must
  // give the same causes, quotes and strengths without them.
  for (const dir of ['errno', 'runtime', 'timeout', 'public']) {
    for (const file of readdirSync(join(FIXTURES, dir)).filter((f) => f.endsWith('.txt'))) {
      it(`${dir}/${file}: the same matches without blank lines`, () => {
        const lines = fixtureLines(dir, file.slice(0, -4));
        const dense = lines.filter((l) => l.trim() !== '');
        const gist = (ls: string[]) => withQuotes(ls, scanSignatures(ls)).map(({ id, cause, strength, object, quote }) => ({ id, cause, strength, object, quote }));
        assert.deepEqual(gist(dense), gist(lines));
        assert.ok(gist(lines).length > 0);
      });
    }
  }
});
