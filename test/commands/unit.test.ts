// The generated unit, parsed back the way systemd reads it (systemd.syntax(7), systemd.service(5)
// "Command lines"), and the host checks behind `preflight unit`'s warnings, on described file trees.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  INSTALL_PATH,
  NODE_FLAGS,
  STATE_DIR,
  buildUnitFile,
  hiddenLocation,
  modeAllows,
  parseGroupId,
  parsePasswdUser,
  pathProblem,
  snapshotWarnings,
  systemdQuote,
  unitWarnings,
  type ModeInfo,
  type ServiceIdentity,
  type UnitSpec,
} from '../../src/commands/unit';
import { UsageError } from '../../src/util/errors';

interface Directive {
  section: string;
  key: string;
  value: string;
}

/** A unit file as systemd sees it: comments and blank lines dropped, Key=Value per section. */
function parseUnit(text: string): Directive[] {
  const out: Directive[] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      section = head[1] as string;
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not Key=Value: ${JSON.stringify(raw)}`);
    assert.ok(!line.endsWith('\\'), `a continuation line: ${JSON.stringify(raw)}`);
    out.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return out;
}

/**
 * Split a command line into words as systemd does: whitespace separates, double or single quotes group,
 * C escapes inside (\\ \" \' \n \t \xNN), then specifiers (%% -> %) and variables ($$ -> $). Any other
 * % or $ would be expanded by systemd, so it fails the test.
 */
function splitExec(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const unescape = (s: string): string =>
    s.replace(/%(.)/g, (_, c: string) => {
      assert.equal(c, '%', `unescaped specifier %${c} in ${line}`);
      return '%';
    });
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let word = '';
    let quote: string | null = null;
    for (; i < line.length; i++) {
      const c = line[i] as string;
      if (quote === null && (c === ' ' || c === '\t')) break;
      if (quote === null && (c === '"' || c === "'")) {
        quote = c;
        continue;
      }
      if (quote !== null && c === quote) {
        quote = null;
        continue;
      }
      if (c === '\\') {
        const n = line[++i];
        const map: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', ' ': ' ' };
        assert.ok(n !== undefined && map[n] !== undefined, `unknown escape \\${n} in ${line}`);
        word += map[n];
        continue;
      }
      word += c;
    }
    assert.equal(quote, null, `unterminated quote in ${line}`);
    // $$ is a literal $; a lone $NAME would be expanded at exec time
    const vars = word.replace(/\$\$/g, '');
    assert.ok(!vars.includes('$'), `unescaped $ in ${JSON.stringify(word)}`);
    words.push(unescape(word).replace(/\$\$/g, '$'));
  }
  return words;
}

const SPEC: UnitSpec = { node: '/usr/bin/node', script: INSTALL_PATH, config: '/etc/preflight.yaml', user: 'preflight' };
const DYNAMIC: UnitSpec = { node: '/usr/bin/node', script: INSTALL_PATH, config: '/etc/preflight.yaml' };

function only(ds: Directive[], section: string, key: string): string {
  const found = ds.filter((d) => d.section === section && d.key === key);
  assert.equal(found.length, 1, `${section}/${key} appears ${found.length} times`);
  return (found[0] as Directive).value;
}

describe('buildUnitFile', () => {
  // the values are the README's ("What the unit does, and why"), written out here rather than taken from
  // the module's constants, so the unit and the documentation cannot drift apart together
  const required: Array<[string, string, string | RegExp]> = [
    ['Unit', 'Description', /preflight/],
    ['Unit', 'Documentation', /^(https?|file|man):/],
    ['Unit', 'After', 'network-online.target'],
    ['Unit', 'Wants', 'network-online.target'],
    ['Service', 'Type', 'exec'],
    ['Service', 'ExecStart', /^\//],
    ['Service', 'SupplementaryGroups', 'systemd-journal'],
    ['Service', 'StateDirectory', 'preflight'],
    ['Service', 'StateDirectoryMode', '0750'],
    ['Service', 'RuntimeDirectory', 'preflight'],
    // "kept across restarts, lost at reboot or systemctl stop"
    ['Service', 'RuntimeDirectoryPreserve', 'restart'],
    ['Service', 'ProtectSystem', 'strict'],
    ['Service', 'ProtectHome', 'read-only'],
    ['Service', 'NoNewPrivileges', 'yes'],
    ['Service', 'PrivateTmp', 'yes'],
    ['Service', 'RemoveIPC', 'yes'],
    // "no capabilities": an empty bounding set
    ['Service', 'CapabilityBoundingSet', ''],
    ['Service', 'Restart', 'always'],
    ['Service', 'RestartPreventExitStatus', '2'],
    ['Service', 'OOMScoreAdjust', '-500'],
    ['Service', 'MemoryMax', '256M'],
    ['Install', 'WantedBy', 'multi-user.target'],
  ];
  const variants: Array<{ name: string; input: UnitSpec; want: Array<[string, string | null]> }> = [
    { name: 'a system user (the default)', input: SPEC, want: [['User', 'preflight'], ['DynamicUser', null]] },
    { name: '--dynamic-user', input: DYNAMIC, want: [['DynamicUser', 'yes'], ['User', null]] },
  ];
  for (const v of variants) {
    const d = parseUnit(buildUnitFile(v.input));
    for (const [section, key, want] of required) {
      test(`${v.name}: [${section}] ${key} exactly once`, () => {
        const got = only(d, section, key);
        if (typeof want === 'string') assert.equal(got, want);
        else assert.match(got, want);
      });
    }
    test(`${v.name}: who it runs as`, () => {
      for (const [key, want] of v.want) {
        if (want === null) assert.equal(d.filter((x) => x.key === key).length, 0, `${key} present`);
        else assert.equal(only(d, 'Service', key), want);
      }
    });
  }
  const ds = parseUnit(buildUnitFile(SPEC));

  test('no directive appears twice', () => {
    const seen = new Set<string>();
    for (const d of ds) {
      const k = `${d.section}/${d.key}`;
      assert.ok(!seen.has(k), `${k} twice`);
      seen.add(k);
    }
  });

  test('ExecStart: node, its flags, the script, start, --config, all absolute', () => {
    const argv = splitExec(only(ds, 'Service', 'ExecStart'));
    assert.deepEqual(argv, ['/usr/bin/node', '--max-semi-space-size=1', INSTALL_PATH, 'start', '--config', '/etc/preflight.yaml']);
  });

  test('MemoryMax is a size systemd reads, between the measured RSS and 1 GiB', () => {
    const max = only(ds, 'Service', 'MemoryMax');
    const m = /^(\d+)([KMG])$/.exec(max);
    assert.ok(m, max);
    const bytes = Number(m[1]) * { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as 'K' | 'M' | 'G'];
    assert.ok(bytes >= 128 * 1024 ** 2 && bytes <= 1024 ** 3, max);
  });

  test('without a config: no --config', () => {
    const argv = splitExec(only(parseUnit(buildUnitFile({ node: '/usr/bin/node', script: INSTALL_PATH })), 'Service', 'ExecStart'));
    assert.deepEqual(argv, ['/usr/bin/node', ...NODE_FLAGS, INSTALL_PATH, 'start']);
  });

  const awkward: Array<{ name: string; input: UnitSpec; want: string[] }> = [
    {
      name: 'spaces in every path',
      input: { node: '/opt/node js/bin/node', script: '/srv/pre flight/preflight.js', config: '/etc/pre flight/preflight.yaml' },
      want: ['/opt/node js/bin/node', ...NODE_FLAGS, '/srv/pre flight/preflight.js', 'start', '--config', '/etc/pre flight/preflight.yaml'],
    },
    {
      name: 'quotes, backslash, % and $',
      input: { node: '/usr/bin/node', script: '/srv/a"b\\c/preflight.js', config: "/etc/100%/$HOME/it's.yaml" },
      want: ['/usr/bin/node', ...NODE_FLAGS, '/srv/a"b\\c/preflight.js', 'start', '--config', "/etc/100%/$HOME/it's.yaml"],
    },
    {
      name: 'non-ASCII',
      input: { node: '/usr/bin/node', script: '/srv/préflight/preflight.js', config: '/etc/préflight.yaml' },
      want: ['/usr/bin/node', ...NODE_FLAGS, '/srv/préflight/preflight.js', 'start', '--config', '/etc/préflight.yaml'],
    },
  ];
  for (const c of awkward) {
    test(`ExecStart reads back: ${c.name}`, () => {
      const d = parseUnit(buildUnitFile(c.input));
      assert.deepEqual(splitExec(only(d, 'Service', 'ExecStart')), c.want);
    });
  }

  test('Documentation: a script path with a space is a URI with %% for systemd', () => {
    const d = parseUnit(buildUnitFile({ node: '/usr/bin/node', script: '/srv/pre flight/preflight.js' }));
    assert.equal(only(d, 'Unit', 'Documentation'), 'file:/srv/pre%%20flight/preflight.js');
  });

  test('ReadWritePaths= for a snapshot folder outside the state dir, quoted', () => {
    const d = parseUnit(buildUnitFile({ ...SPEC, readWritePaths: ['/srv/snap shots'] }));
    assert.equal(only(d, 'Service', 'ReadWritePaths'), '"/srv/snap shots"');
  });

  test('the useradd line for the user is in the header', () => {
    assert.match(buildUnitFile(SPEC), /^# +useradd --system --user-group --home-dir \/var\/lib\/preflight --no-create-home --shell \/usr\/sbin\/nologin preflight/m);
  });

  const refused: Array<{ name: string; input: UnitSpec }> = [
    { name: 'a relative script', input: { node: '/usr/bin/node', script: 'dist/preflight.js' } },
    { name: 'a relative config', input: { ...SPEC, config: 'preflight.yaml' } },
    { name: 'a newline in a path', input: { ...SPEC, config: '/etc/a\nb.yaml' } },
    { name: 'a user name with a space', input: { ...SPEC, user: 'pre flight' } },
    { name: 'a quote in ReadWritePaths', input: { ...SPEC, user: 'p', readWritePaths: ['/srv/a"b'] } },
  ];
  for (const c of refused) {
    test(`refuses ${c.name}`, () => assert.throws(() => buildUnitFile(c.input), UsageError));
  }
});

describe('systemdQuote', () => {
  const cases: Array<{ name: string; input: string; want: string }> = [
    { name: 'a plain path', input: '/usr/bin/node', want: '/usr/bin/node' },
    { name: 'an option', input: '--config', want: '--config' },
    { name: 'a space', input: '/a b', want: '"/a b"' },
    { name: 'a percent', input: '/100%', want: '"/100%%"' },
    { name: 'a dollar', input: '/$HOME', want: '"/$$HOME"' },
    { name: 'a double quote', input: '/a"b', want: '"/a\\"b"' },
    { name: 'a backslash', input: '/a\\b', want: '"/a\\\\b"' },
    { name: 'a single quote', input: "/it's", want: '"/it\'s"' },
    { name: 'empty', input: '', want: '""' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(systemdQuote(c.input), c.want);
      assert.deepEqual(splitExec(systemdQuote(c.input)), c.input === '' ? [''] : [c.input]);
    });
  }
});

describe('pathProblem: can the service user read it, by mode bits', () => {
  const JOURNAL = 101;
  const dynamic: ServiceIdentity = { gids: [JOURNAL] };
  const tree = (modes: Record<string, Partial<ModeInfo>>) => (p: string): ModeInfo => {
    const m = modes[p];
    if (!m) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
    return { mode: 0o755, uid: 0, gid: 0, ...m };
  };
  const std = { '/': {}, '/etc': {}, '/root': { mode: 0o700 } };
  const cases: Array<{ name: string; input: { file: string; want: 'read' | 'exec'; modes: Record<string, Partial<ModeInfo>>; who?: ServiceIdentity }; want: RegExp | undefined }> = [
    { name: 'world-readable config', input: { file: '/etc/preflight.yaml', want: 'read', modes: { ...std, '/etc/preflight.yaml': { mode: 0o644 } } }, want: undefined },
    { name: '0600 root config', input: { file: '/etc/preflight.yaml', want: 'read', modes: { ...std, '/etc/preflight.yaml': { mode: 0o600 } } }, want: /\/etc\/preflight.yaml \(mode 0600\) is not readable/ },
    {
      name: '0640 root:systemd-journal config (the service is in the group)',
      input: { file: '/etc/preflight.yaml', want: 'read', modes: { ...std, '/etc/preflight.yaml': { mode: 0o640, gid: JOURNAL } } },
      want: undefined,
    },
    { name: 'a script under /root', input: { file: '/root/p/preflight.js', want: 'read', modes: { ...std, '/root/p': {}, '/root/p/preflight.js': { mode: 0o644 } } }, want: /\/root \(mode 0700\) cannot be entered/ },
    { name: 'node not executable', input: { file: '/opt/node', want: 'exec', modes: { ...std, '/opt': {}, '/opt/node': { mode: 0o744 } } }, want: /is not executable/ },
    {
      name: 'a fixed user owning a 0600 file',
      input: { file: '/etc/p.yaml', want: 'read', modes: { ...std, '/etc/p.yaml': { mode: 0o600, uid: 998 } }, who: { uid: 998, gids: [998] } },
      want: undefined,
    },
    { name: 'root reads anything', input: { file: '/root/x', want: 'read', modes: { ...std, '/root/x': { mode: 0o600 } }, who: { uid: 0, gids: [0] } }, want: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = pathProblem(c.input.file, c.input.who ?? dynamic, c.input.want, tree(c.input.modes));
      if (c.want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? '', c.want);
    });
  }

  test('modeAllows: owner bits for the owner, not the other bits', () => {
    assert.equal(modeAllows({ mode: 0o604, uid: 5, gid: 5 }, { uid: 5, gids: [5] }, 4), true);
    assert.equal(modeAllows({ mode: 0o064, uid: 5, gid: 5 }, { uid: 5, gids: [5] }, 4), false);
  });
});

describe('unitWarnings', () => {
  const stat = (p: string): ModeInfo => ({ mode: p.endsWith('.yaml') ? 0o600 : 0o755, uid: 0, gid: 0 });
  test('a script in /root, a config in /tmp, a 0600 config elsewhere: each named with its fix', () => {
    const w = unitWarnings({ node: '/usr/bin/node', script: '/root/preflight/dist/preflight.js', config: '/tmp/x/preflight.yaml' }, { who: { gids: [] }, stat });
    assert.equal(w.length, 2, w.join('\n'));
    assert.match(w[0] ?? '', /script \/root\/preflight\/dist\/preflight.js is in a home folder.*install -D -m 0644 .* \/usr\/local\/lib\/preflight\/preflight.js/);
    assert.match(w[1] ?? '', /config \/tmp\/x\/preflight.yaml is in a temp folder \(PrivateTmp=yes/);
    const w2 = unitWarnings({ node: '/usr/bin/node', script: INSTALL_PATH, config: '/etc/preflight.yaml' }, { who: { gids: [] }, stat });
    assert.equal(w2.length, 1, w2.join('\n'));
    assert.match(w2[0] ?? '', /config \/etc\/preflight.yaml: .*mode 0600.*chgrp systemd-journal \/etc\/preflight.yaml && chmod 0640 \/etc\/preflight.yaml/);
  });
  test('an installed setup: no warnings', () => {
    const ok = (p: string): ModeInfo => ({ mode: p.endsWith('.yaml') ? 0o640 : 0o755, uid: 0, gid: p.endsWith('.yaml') ? 101 : 0 });
    assert.deepEqual(unitWarnings({ node: '/usr/bin/node', script: INSTALL_PATH, config: '/etc/preflight.yaml' }, { who: { gids: [101] }, stat: ok }), []);
  });
});

describe('hiddenLocation', () => {
  const cases: Array<{ name: string; input: string; want: RegExp | undefined }> = [
    { name: '/root', input: '/root/p.js', want: /home folder/ },
    { name: '/home', input: '/home/ana/p.js', want: /home folder/ },
    { name: '/tmp', input: '/tmp/p.yaml', want: /PrivateTmp/ },
    { name: '/var/tmp', input: '/var/tmp/p.yaml', want: /PrivateTmp/ },
    { name: '/usr/local/lib', input: INSTALL_PATH, want: undefined },
    { name: 'a prefix is not a parent', input: '/tmpfoo/p.yaml', want: undefined },
    { name: '/homes is not /home', input: '/homes/p.js', want: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = hiddenLocation(c.input);
      if (c.want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? '', c.want);
    });
  }
});

describe('snapshotWarnings', () => {
  const file = '/etc/preflight.yaml';
  const cases: Array<{ name: string; input: Parameters<typeof snapshotWarnings>[0]; want: RegExp[] }> = [
    { name: 'snapshot_dir: /var/lib/preflight', input: { file, serviceDir: STATE_DIR, shellDir: STATE_DIR, user: undefined }, want: [] },
    { name: 'a subfolder of the state dir', input: { file, serviceDir: `${STATE_DIR}/snaps`, shellDir: `${STATE_DIR}/snaps`, user: undefined }, want: [] },
    {
      name: 'no snapshot_dir: the service uses $STATE_DIRECTORY, a shell its home',
      input: { file, serviceDir: STATE_DIR, shellDir: '/root/.local/share/failure-context', user: undefined },
      want: [/writes? snapshots to \/var\/lib\/preflight but `preflight last` run from a shell reads \/root\/.*add `snapshot_dir: \/var\/lib\/preflight` to \/etc\/preflight.yaml/],
    },
    { name: 'elsewhere, dynamic user', input: { file, serviceDir: '/srv/snaps', shellDir: '/srv/snaps', user: undefined }, want: [/can write only its StateDirectory; set snapshot_dir: \/var\/lib\/preflight/] },
    { name: 'elsewhere, fixed user', input: { file, serviceDir: '/srv/snaps', shellDir: '/srv/snaps', user: 'preflight' }, want: [/ReadWritePaths=.*install -d -o preflight -m 0750 \/srv\/snaps/] },
    { name: 'a sibling with the same prefix is outside', input: { file, serviceDir: '/var/lib/preflight2', shellDir: '/var/lib/preflight2', user: undefined }, want: [/outside/] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = snapshotWarnings(c.input);
      assert.equal(got.length, c.want.length, got.join('\n'));
      c.want.forEach((re, i) => assert.match(got[i] ?? '', re));
    });
  }
});

describe('/etc/passwd and /etc/group', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\npreflight:x:998:997::/var/lib/preflight:/usr/sbin/nologin\nbad:x:abc:1::/:/bin/sh\n';
  const group = 'root:x:0:\nsystemd-journal:x:101:preflight,ana\npreflight:x:997:\nadm:x:4:ana\n';
  const cases: Array<{ name: string; input: string; want: ReturnType<typeof parsePasswdUser> }> = [
    { name: 'a system user in systemd-journal', input: 'preflight', want: { name: 'preflight', uid: 998, gid: 997, home: '/var/lib/preflight', groups: [997, 101] } },
    { name: 'root', input: 'root', want: { name: 'root', uid: 0, gid: 0, home: '/root', groups: [0] } },
    { name: 'missing', input: 'nobody-here', want: undefined },
    { name: 'a broken line', input: 'bad', want: undefined },
    { name: 'empty name', input: '', want: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parsePasswdUser(c.input, passwd, group), c.want));
  test('group id', () => {
    assert.equal(parseGroupId('systemd-journal', group), 101);
    assert.equal(parseGroupId('nope', group), undefined);
    assert.equal(parseGroupId('systemd-journal', ''), undefined);
  });
});
