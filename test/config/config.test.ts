import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NOTIFICATION_KEYS, SERVICE_KEYS, TOP_KEYS, editDistance, formatConfig, parseConfig, suggest, type Config, type ServiceConfig } from '../../src/config/config';
import { ConfigError } from '../../src/util/errors';
import { EXAMPLE, uncommentNotifications } from './_example';

const ENV = { HOME: '/home/op' };
const SVC = 'services:\n  - name: web\n    health_url: http://127.0.0.1:8080/health\n';

function service(over: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name: 'web',
    healthUrl: 'http://127.0.0.1:8080/health',
    expectStatus: [{ min: 200, max: 399 }],
    intervalSeconds: 30,
    timeoutSeconds: 10,
    bufferSamples: 30,
    ...over,
  };
}

function defaults(over: Partial<Config> = {}): Config {
  return {
    file: 'p.yaml',
    snapshotDir: '/home/op/.local/share/failure-context',
    intervalSeconds: 30,
    timeoutSeconds: 10,
    failureThreshold: 2,
    confirmIntervalSeconds: 5,
    sampleSeconds: 10,
    bufferSamples: 30,
    retention: 50,
    flapWindowSeconds: 600,
    reminderSeconds: 3600,
    journalLines: 100,
    disks: ['/'],
    listen: { host: '127.0.0.1', port: 9187 },
    services: [service()],
    ...over,
  };
}

describe('parseConfig: valid documents', () => {
  const cases: Array<{ name: string; input: string; env?: NodeJS.ProcessEnv; want: Config }> = [
    { name: 'only services: every default', input: SVC, want: defaults() },
    {
      name: 'every top-level key',
      input: [
        'snapshot_dir: /var/lib/preflight/',
        'interval_seconds: 15',
        'timeout_seconds: 2.5',
        'failure_threshold: 3',
        'confirm_interval_seconds: 1',
        'sample_seconds: 0.5',
        'buffer_samples: 120',
        'retention: 7',
        'journal_lines: 0',
        'disks:',
        '  - /',
        '  - /var/',
        'listen: 0.0.0.0:9000',
        'api_token: 12345678',
        SVC,
      ].join('\n'),
      want: defaults({
        snapshotDir: '/var/lib/preflight',
        intervalSeconds: 15,
        timeoutSeconds: 2.5,
        failureThreshold: 3,
        confirmIntervalSeconds: 1,
        sampleSeconds: 0.5,
        bufferSamples: 120,
        retention: 7,
        journalLines: 0,
        disks: ['/', '/var'],
        listen: { host: '0.0.0.0', port: 9000 },
        apiToken: '12345678',
        services: [service({ intervalSeconds: 15, timeoutSeconds: 2.5, bufferSamples: 120 })],
      }),
    },
    {
      name: 'service options and overrides',
      input: [
        'services:',
        '  - name: dead-drop',
        '    health_url: https://example.org/drop/health?x=1',
        '    unit: dead-drop',
        '    expect_status: [200, "301-302", 5xx]',
        '    expect_body: "status: ok"',
        '    interval_seconds: 10',
        '    timeout_seconds: 10',
        '    buffer_samples: 60',
        '  - name: b.2_x',
        '    health_url: http://[::1]:81/',
        '    unit: worker@1.service',
        '    expect_status:',
        '      - 204',
        '      - 200 - 201',
      ].join('\n'),
      want: defaults({
        services: [
          service({
            name: 'dead-drop',
            healthUrl: 'https://example.org/drop/health?x=1',
            unit: 'dead-drop.service',
            expectStatus: [{ min: 200, max: 200 }, { min: 301, max: 302 }, { min: 500, max: 599 }],
            expectBody: 'status: ok',
            intervalSeconds: 10,
            timeoutSeconds: 10,
            bufferSamples: 60,
          }),
          service({ name: 'b.2_x', healthUrl: 'http://[::1]:81/', unit: 'worker@1.service', expectStatus: [{ min: 204, max: 204 }, { min: 200, max: 201 }] }),
        ],
      }),
    },
    {
      name: 'default timeout is the interval when that is shorter',
      input: 'interval_seconds: 4\nservices:\n  - name: a\n    health_url: http://h/\n  - name: b\n    health_url: http://h/\n    interval_seconds: 2\n  - name: c\n    health_url: http://h/\n    interval_seconds: 60\n',
      want: defaults({
        intervalSeconds: 4,
        timeoutSeconds: 4,
        services: [
          service({ name: 'a', healthUrl: 'http://h/', intervalSeconds: 4, timeoutSeconds: 4 }),
          service({ name: 'b', healthUrl: 'http://h/', intervalSeconds: 2, timeoutSeconds: 2 }),
          service({ name: 'c', healthUrl: 'http://h/', intervalSeconds: 60, timeoutSeconds: 10 }),
        ],
      }),
    },
    {
      name: 'an explicit top-level timeout is inherited as is',
      input: 'timeout_seconds: 3\nservices:\n  - name: a\n    health_url: http://h/\n    interval_seconds: 60\n',
      want: defaults({ timeoutSeconds: 3, services: [service({ name: 'a', healthUrl: 'http://h/', intervalSeconds: 60, timeoutSeconds: 3 })] }),
    },
    { name: 'listen off', input: `listen: off\n${SVC}`, want: defaults({ listen: null }) },
    { name: 'listen IPv6', input: `listen: "[::1]:9187"\n${SVC}`, want: defaults({ listen: { host: '::1', port: 9187 } }) },
    { name: 'listen host name, port 0', input: `listen: localhost:0\n${SVC}`, want: defaults({ listen: { host: 'localhost', port: 0 } }) },
    { name: 'empty disks list', input: `disks: []\n${SVC}`, want: defaults({ disks: [] }) },
    {
      name: 'notifications: defaults and derived public_url',
      input: `notifications:\n  webhook: https://ntfy.example.org/ops\n${SVC}`,
      want: defaults({ notifications: { webhook: 'https://ntfy.example.org/ops', format: 'json', publicUrl: 'http://127.0.0.1:9187', recovery: true, headers: {} } }),
    },
    {
      name: 'notifications: every key',
      input: 'listen: off\nnotifications:\n  webhook: https://hooks.slack.com/services/T0/B0/x\n  format: slack\n  public_url: https://box.example.org:9187/\n  recovery: false\n  headers:\n    Authorization: Bearer xyz\n    X-Priority: 5\n' + SVC,
      want: defaults({
        listen: null,
        notifications: {
          webhook: 'https://hooks.slack.com/services/T0/B0/x',
          format: 'slack',
          publicUrl: 'https://box.example.org:9187',
          recovery: false,
          headers: { Authorization: 'Bearer xyz', 'X-Priority': '5' },
        },
      }),
    },
    {
      name: 'notifications: IPv6 listen gives a bracketed public_url',
      input: `listen: "[::1]:9187"\nnotifications:\n  webhook: http://h/\n${SVC}`,
      want: defaults({ listen: { host: '::1', port: 9187 }, notifications: { webhook: 'http://h/', format: 'json', publicUrl: 'http://[::1]:9187', recovery: true, headers: {} } }),
    },
    {
      name: 'notifications: wildcard listen derives no public_url',
      input: `listen: 0.0.0.0:9187\nnotifications:\n  webhook: http://h/\n${SVC}`,
      want: defaults({ listen: { host: '0.0.0.0', port: 9187 }, notifications: { webhook: 'http://h/', format: 'json', recovery: true, headers: {} } }),
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(parseConfig(c.input, 'p.yaml', c.env ?? ENV), c.want));
  }
});

describe('parseConfig: services as a list and as a map are the same config', () => {
  const cases: Array<{ name: string; list: string; map: string }> = [
    {
      name: 'two services with options',
      list: 'services:\n  - name: dead-drop\n    health_url: https://example.org/drop/health\n    unit: dead-drop\n    interval_seconds: 10\n  - name: web\n    health_url: http://127.0.0.1:8080/\n',
      map: 'services:\n  dead-drop:\n    health_url: https://example.org/drop/health\n    unit: dead-drop\n    interval_seconds: 10\n  web:\n    health_url: http://127.0.0.1:8080/\n',
    },
    {
      name: 'list at the key indentation',
      list: 'services:\n- name: a\n  health_url: http://h/\n',
      map: 'services:\n  a:\n    health_url: http://h/\n',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const a = parseConfig(c.list, 'p.yaml', ENV);
      assert.ok(a.services.length > 0);
      assert.deepEqual(parseConfig(c.map, 'p.yaml', ENV), a);
    });
  }
});

describe('parseConfig: snapshot_dir and the environment', () => {
  const cases: Array<{ name: string; input: string; env: NodeJS.ProcessEnv; want: string }> = [
    { name: 'default under $HOME', input: SVC, env: { HOME: '/home/op' }, want: '/home/op/.local/share/failure-context' },
    { name: '$STATE_DIRECTORY when the key is absent', input: SVC, env: { HOME: '/home/op', STATE_DIRECTORY: '/var/lib/preflight' }, want: '/var/lib/preflight' },
    { name: 'first of several $STATE_DIRECTORY entries', input: SVC, env: { STATE_DIRECTORY: '/var/lib/a:/var/lib/b' }, want: '/var/lib/a' },
    { name: 'empty $STATE_DIRECTORY is ignored', input: SVC, env: { HOME: '/h', STATE_DIRECTORY: '' }, want: '/h/.local/share/failure-context' },
    { name: 'the key wins over $STATE_DIRECTORY', input: `snapshot_dir: /srv/snap\n${SVC}`, env: { STATE_DIRECTORY: '/var/lib/preflight' }, want: '/srv/snap' },
    { name: '~ expands to $HOME', input: `snapshot_dir: ~/snaps\n${SVC}`, env: { HOME: '/home/x/' }, want: '/home/x/snaps' },
    { name: '~ alone', input: `snapshot_dir: "~"\n${SVC}`, env: { HOME: '/home/x' }, want: '/home/x' },
    { name: 'normalised', input: `snapshot_dir: /a/./b/../c/\n${SVC}`, env: {}, want: '/a/c' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(parseConfig(c.input, 'p.yaml', c.env).snapshotDir, c.want));
  }
});

interface ErrorCase {
  name: string;
  input: string;
  env?: NodeJS.ProcessEnv;
  /** undefined: an error about the whole file */
  line: number | undefined;
  column: number | undefined;
  reason: RegExp;
  hint: RegExp;
}

function checkError(c: ErrorCase, fn: () => unknown, file: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.equal(err.file, file);
    assert.deepEqual({ line: err.line, column: err.column }, { line: c.line, column: c.column }, err.message);
    assert.match(err.message, c.reason);
    assert.match(err.hint ?? '', c.hint);
    return true;
  });
}

describe('parseConfig: errors point at the value and say what to write', () => {
  const svc = (extra: string): string => `services:\n  - name: web\n    health_url: http://h/\n${extra}`;
  const cases: ErrorCase[] = [
    // unknown keys
    { name: 'unknown top-level key', input: `${SVC}intervall_seconds: 5\n`, line: 4, column: 1, reason: /unknown key 'intervall_seconds'/, hint: /^did you mean interval_seconds\?$/ },
    { name: 'unknown key, transposed letters', input: `retnetion: 5\n${SVC}`, line: 1, column: 1, reason: /unknown key 'retnetion'/, hint: /did you mean retention\?/ },
    { name: 'unknown key, dashes', input: `journal-lines: 5\n${SVC}`, line: 1, column: 1, reason: /unknown key/, hint: /did you mean journal_lines\?/ },
    { name: 'unknown key, nothing close', input: `colour: blue\n${SVC}`, line: 1, column: 1, reason: /unknown key 'colour'/, hint: /known keys: snapshot_dir, .*services/ },
    { name: 'service key at the top level', input: `health_url: http://h/\n${SVC}`, line: 1, column: 1, reason: /unknown key 'health_url'/, hint: /belongs to a service/ },
    { name: 'notification key at the top level', input: `webhook: http://h/\n${SVC}`, line: 1, column: 1, reason: /unknown key 'webhook'/, hint: /under notifications/ },
    { name: 'unknown key in a service without a name', input: 'services:\n  - health_url: http://h/\n    unti: x\n', line: 3, column: 5, reason: /unknown key 'unti' in services\[0\]/, hint: /did you mean unit\?/ },
    { name: 'unknown service key', input: svc('    helth_url: x\n'), line: 4, column: 5, reason: /unknown key 'helth_url' in services\.web/, hint: /did you mean health_url\?/ },
    { name: 'top-level setting in a service', input: svc('    retention: 5\n'), line: 4, column: 5, reason: /unknown key 'retention'/, hint: /top-level setting/ },
    { name: 'unknown notifications key', input: `notifications:\n  webhook: http://h/\n  fromat: json\n${SVC}`, line: 3, column: 3, reason: /unknown key 'fromat' in notifications/, hint: /did you mean format\?/ },
    // numbers
    { name: 'number as text', input: `interval_seconds: abc\n${SVC}`, line: 1, column: 19, reason: /interval_seconds: expected a number > 0, got "abc"/, hint: /e\.g\. interval_seconds: 30/ },
    { name: 'quoted number', input: `retention: "5"\n${SVC}`, line: 1, column: 12, reason: /retention: expected an integer >= 1, got "5"/, hint: /remove the quotes: retention: 5/ },
    { name: 'zero interval', input: `interval_seconds: 0\n${SVC}`, line: 1, column: 19, reason: /expected a number > 0, got 0/, hint: /interval_seconds: 30/ },
    { name: 'negative journal_lines', input: `journal_lines: -1\n${SVC}`, line: 1, column: 16, reason: /journal_lines: expected an integer >= 0, got -1/, hint: /journal_lines: 100/ },
    { name: 'fractional integer', input: `failure_threshold: 1.5\n${SVC}`, line: 1, column: 20, reason: /expected an integer >= 1, got 1.5/, hint: /whole number/ },
    { name: 'buffer_samples too small', input: `buffer_samples: 1\n${SVC}`, line: 1, column: 17, reason: /expected an integer >= 2, got 1/, hint: /buffer_samples: 30/ },
    { name: 'too large', input: `sample_seconds: 100000\n${SVC}`, line: 1, column: 17, reason: /<= 86400, got 100000/, hint: /sample_seconds: 10/ },
    { name: 'empty value', input: `retention:\n${SVC}`, line: 1, column: 1, reason: /retention: expected an integer >= 1, got nothing/, hint: /retention: 50/ },
    { name: 'list for a number', input: `retention: [1]\n${SVC}`, line: 1, column: 12, reason: /got a list/, hint: /retention: 50/ },
    { name: 'per-service number', input: svc('    buffer_samples: x\n'), line: 4, column: 21, reason: /services\.web\.buffer_samples: expected an integer >= 2, got "x"/, hint: /buffer_samples: 30/ },
    // timeout vs interval
    { name: 'top-level timeout longer than interval', input: `interval_seconds: 5\ntimeout_seconds: 6\n${SVC}`, line: 2, column: 18, reason: /timeout_seconds: 6 is longer than interval_seconds \(5\)/, hint: /timeout_seconds: 5 or less/ },
    { name: 'service timeout longer than its interval', input: svc('    interval_seconds: 3\n    timeout_seconds: 4\n'), line: 5, column: 22, reason: /services\.web\.timeout_seconds: 4 is longer than interval_seconds \(3\)/, hint: /timeout_seconds: 3 or less/ },
    { name: 'service interval shorter than the top-level timeout', input: `timeout_seconds: 10\n${svc('    interval_seconds: 5\n')}`, line: 5, column: 23, reason: /interval_seconds: 5 is shorter than timeout_seconds 10, set on line 1/, hint: /add timeout_seconds: 5 or less to this service/ },
    // paths
    { name: 'relative snapshot_dir', input: `snapshot_dir: snaps\n${SVC}`, line: 1, column: 15, reason: /expected an absolute path, got "snaps"/, hint: /start it with \/ or ~\// },
    { name: '~user', input: `snapshot_dir: ~bob/x\n${SVC}`, line: 1, column: 15, reason: /~user paths are not supported/, hint: /absolute path/ },
    { name: '~ without $HOME', input: `snapshot_dir: ~/x\n${SVC}`, env: {}, line: 1, column: 15, reason: /\$HOME is not set/, hint: /absolute path/ },
    { name: 'no $HOME, no $STATE_DIRECTORY, no key', input: SVC, env: {}, line: undefined, column: undefined, reason: /neither \$STATE_DIRECTORY nor \$HOME/, hint: /snapshot_dir: \/var\/lib\/preflight/ },
    { name: 'relative $STATE_DIRECTORY', input: SVC, env: { STATE_DIRECTORY: 'rel' }, line: undefined, column: undefined, reason: /\$STATE_DIRECTORY: expected an absolute path/, hint: /start it with \// },
    { name: 'disks as a scalar', input: `disks: /var\n${SVC}`, line: 1, column: 8, reason: /disks: expected a list of absolute paths, got "\/var"/, hint: /disks: \[\/var\]/ },
    { name: 'relative disk', input: `disks: [/, var]\n${SVC}`, line: 1, column: 12, reason: /disks\[1\]: expected an absolute path/, hint: /start it with \// },
    { name: 'duplicate disk', input: `disks:\n  - /var\n  - /var/\n${SVC}`, line: 3, column: 5, reason: /"\/var" is listed twice, first on line 2/, hint: /remove one/ },
    // listen
    { name: 'listen as a port', input: `listen: 9187\n${SVC}`, line: 1, column: 9, reason: /listen: expected host:port or off, got 9187/, hint: /127\.0\.0\.1:9187/ },
    { name: 'listen false', input: `listen: false\n${SVC}`, line: 1, column: 9, reason: /got false/, hint: /write off/ },
    { name: 'listen without port', input: `listen: localhost\n${SVC}`, line: 1, column: 9, reason: /expected host:port or off, got "localhost"/, hint: /host:port/ },
    { name: 'listen unbracketed IPv6', input: `listen: "::1:9187"\n${SVC}`, line: 1, column: 9, reason: /got "::1:9187"/, hint: /brackets/ },
    { name: 'listen bad port', input: `listen: 127.0.0.1:70000\n${SVC}`, line: 1, column: 9, reason: /port 70000 is not 0-65535/, hint: /host:port/ },
    { name: 'listen bad host', input: `listen: bad_host:80\n${SVC}`, line: 1, column: 9, reason: /"bad_host" is not an IPv4 address or host name/, hint: /host:port/ },
    { name: 'listen bad IPv6', input: `listen: "[zz]:80"\n${SVC}`, line: 1, column: 9, reason: /"zz" is not an IPv6 address/, hint: /host:port/ },
    // api_token
    { name: 'api_token with a space', input: `api_token: "a b"\n${SVC}`, line: 1, column: 12, reason: /api_token: the token holds spaces/, hint: /openssl rand -hex 32/ },
    { name: 'empty api_token', input: `api_token: ""\n${SVC}`, line: 1, column: 12, reason: /api_token: expected a token, got an empty string/, hint: /openssl/ },
    // services
    { name: 'no services key', input: 'retention: 5\n', line: undefined, column: undefined, reason: /missing services/, hint: /- name:/ },
    { name: 'empty services list', input: 'services: []\n', line: 1, column: 11, reason: /at least one service/, hint: /- name: web/ },
    { name: 'services empty value', input: 'services:\n', line: 1, column: 1, reason: /services: expected a list or a map of services, got nothing/, hint: /- name: web/ },
    { name: 'service item not a map', input: 'services:\n  - web\n', line: 2, column: 5, reason: /services\[0\]: expected a map with name: and health_url:, got "web"/, hint: /name: web/ },
    { name: 'service without name', input: 'services:\n  - health_url: http://h/\n', line: 2, column: 5, reason: /services\[0\]: missing name/, hint: /name: web/ },
    { name: 'service without health_url', input: 'services:\n  - name: web\n', line: 2, column: 5, reason: /services\.web: neither health_url nor unit/, hint: /health_url: http:\/\/127\.0\.0\.1:8080\/health.*or unit: backup\.service/ },
    { name: 'unit-only with expect_status', input: 'services:\n  - name: backup\n    unit: backup\n    expect_status: 200\n', line: 4, column: 5, reason: /services\.backup\.expect_status: this service has no health_url, so expect_status has nothing to apply to/, hint: /add the health_url: it belongs to, or remove expect_status/ },
    { name: 'unit-only with headers', input: 'services:\n  - name: backup\n    unit: backup\n    headers:\n      X-A: 1\n', line: 4, column: 5, reason: /services\.backup\.headers: this service has no health_url/, hint: /remove headers/ },
    { name: 'unit-only with interval_seconds', input: 'services:\n  - name: backup\n    unit: backup\n    interval_seconds: 5\n', line: 4, column: 5, reason: /services\.backup\.interval_seconds: a service without health_url has no checks to space/, hint: /top-level interval_seconds/ },
    { name: 'unit-only naming the timer', input: 'services:\n  - name: backup\n    unit: backup.timer\n', line: 3, column: 11, reason: /expected a \.service unit, got "backup\.timer"/, hint: /a timer runs a service: name that one \(backup\.service unless the timer says Unit=\)/ },
    { name: 'watch_failed_units not a boolean', input: `watch_failed_units: yes\n${SVC}`, line: 1, column: 21, reason: /watch_failed_units: expected true or false, got "yes"/, hint: /write true or false/ },
    { name: 'bad service name', input: 'services:\n  - name: "a b"\n    health_url: http://h/\n', line: 2, column: 11, reason: /service name "a b" is not allowed/, hint: /folder names and URL paths/ },
    { name: 'service name with a slash', input: 'services:\n  ../x:\n    health_url: http://h/\n', line: 2, column: 3, reason: /service name "\.\.\/x" is not allowed/, hint: /letters, digits/ },
    { name: 'duplicate service name', input: 'services:\n  - name: a\n    health_url: http://h/\n  - name: a\n    health_url: http://h/\n', line: 4, column: 11, reason: /duplicate service name 'a', first on line 2/, hint: /unique/ },
    { name: 'duplicate service in map form', input: 'services:\n  a:\n    health_url: http://h/\n  a:\n    health_url: http://h/\n', line: 4, column: 3, reason: /duplicate key 'a'/, hint: /lines 2 and 4/ },
    { name: 'name: inside map form', input: 'services:\n  a:\n    name: b\n    health_url: http://h/\n', line: 3, column: 5, reason: /unexpected key 'name'/, hint: /named by its key/ },
    { name: 'service map value not a map', input: 'services:\n  a: http://h/\n', line: 2, column: 6, reason: /services\.a: expected a map with health_url:, got "http:\/\/h\/"/, hint: /indent health_url/ },
    { name: 'services as a scalar', input: 'services: web\n', line: 1, column: 11, reason: /expected a list or a map of services, got "web"/, hint: /- name: web/ },
    { name: 'health_url with another scheme', input: 'services:\n  - name: a\n    health_url: ftp://h/\n', line: 3, column: 17, reason: /expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/h\/"/, hint: /use http:\/\/ or https:\/\// },
    { name: 'health_url without scheme', input: 'services:\n  - name: a\n    health_url: localhost:8080/health\n', line: 3, column: 17, reason: /expected an http:\/\/ or https:\/\/ URL/, hint: /add the scheme: http:\/\/localhost:8080\/health/ },
    { name: 'health_url not a URL', input: 'services:\n  - name: a\n    health_url: "not a url"\n', line: 3, column: 17, reason: /got "not a url"/, hint: /full URL/ },
    { name: 'socket unit', input: svc('    unit: web.socket\n'), line: 4, column: 11, reason: /expected a \.service unit, got "web\.socket"/, hint: /\.service unit/ },
    { name: 'template unit', input: svc('    unit: worker@\n'), line: 4, column: 11, reason: /is a template/, hint: /worker@1\.service/ },
    { name: 'invalid unit name', input: svc('    unit: "my unit"\n'), line: 4, column: 11, reason: /not a valid systemd unit name/, hint: /dead-drop\.service/ },
    { name: 'status out of range', input: svc('    expect_status: 600\n'), line: 4, column: 20, reason: /expected a status code 100-599 or a range, got "600"/, hint: /"200-399"/ },
    { name: 'status range reversed', input: svc('    expect_status: 399-200\n'), line: 4, column: 20, reason: /ends before it starts/, hint: /write 200-399/ },
    { name: 'status list entry', input: svc('    expect_status: [200, abc]\n'), line: 4, column: 26, reason: /expect_status\[1\]: expected a status code/, hint: /a list of them/ },
    { name: 'empty status list', input: svc('    expect_status: []\n'), line: 4, column: 20, reason: /the list is empty/, hint: /default 200-399/ },
    { name: 'status boolean', input: svc('    expect_status: true\n'), line: 4, column: 20, reason: /expected a status code or range, got true/, hint: /2xx/ },
    { name: 'empty expect_body', input: svc('    expect_body: ""\n'), line: 4, column: 18, reason: /expect_body: expected text the response body must contain, got an empty string/, hint: /expect_body: ok/ },
    // notifications
    { name: 'notifications not a map', input: `notifications: http://h/\n${SVC}`, line: 1, column: 16, reason: /notifications: expected a map, got "http:\/\/h\/"/, hint: /webhook:/ },
    { name: 'notifications without webhook', input: `notifications:\n  format: json\n${SVC}`, line: 2, column: 3, reason: /notifications: missing webhook/, hint: /webhook: https:/ },
    { name: 'unknown format', input: `notifications:\n  webhook: http://h/\n  format: slak\n${SVC}`, line: 3, column: 11, reason: /expected one of json, ntfy, slack, discord, got "slak"/, hint: /did you mean slack\?/ },
    { name: 'recovery: yes', input: `notifications:\n  webhook: http://h/\n  recovery: yes\n${SVC}`, line: 3, column: 13, reason: /notifications\.recovery: expected true or false, got "yes"/, hint: /write true or false/ },
    { name: 'bad header name', input: `notifications:\n  webhook: http://h/\n  headers:\n    "X Bad": 1\n${SVC}`, line: 4, column: 5, reason: /"X Bad" is not a valid header name/, hint: /Authorization/ },
    { name: 'header set twice', input: `notifications:\n  webhook: http://h/\n  headers:\n    X-A: 1\n    x-a: 2\n${SVC}`, line: 5, column: 5, reason: /header 'x-a' is already set on line 4/, hint: /ignore case/ },
    { name: 'header with a newline', input: `notifications:\n  webhook: http://h/\n  headers:\n    X-A: "a\\nb"\n${SVC}`, line: 4, column: 10, reason: /control character/, hint: /one line/ },
    { name: 'bad public_url', input: `notifications:\n  webhook: http://h/\n  public_url: box:9187\n${SVC}`, line: 3, column: 15, reason: /public_url: expected an http:\/\/ or https:\/\/ URL/, hint: /http:\/\/box:9187/ },
    // document shape
    { name: 'empty document', input: '# nothing\n', line: undefined, column: undefined, reason: /the config is empty/, hint: /services:/ },
    { name: 'top-level list', input: '- a\n', line: 1, column: 1, reason: /expected a map of settings at the top level, got a list/, hint: /key: value/ },
    { name: 'YAML errors come through', input: `interval_seconds: 010\n${SVC}`, line: 1, column: 19, reason: /ambiguous number 010/, hint: /write 10/ },
  ];
  for (const c of cases) {
    it(c.name, () => checkError(c, () => parseConfig(c.input, 'p.yaml', c.env ?? ENV), 'p.yaml'));
  }
});

describe('suggest and editDistance', () => {
  const cases: Array<{ name: string; input: [string, string[]]; want: string | undefined }> = [
    { name: 'one letter extra', input: ['intervall_seconds', ['interval_seconds', 'timeout_seconds']], want: 'interval_seconds' },
    { name: 'transposition', input: ['retnetion', ['retention', 'listen']], want: 'retention' },
    { name: 'case and dashes', input: ['Sample-Seconds', ['sample_seconds']], want: 'sample_seconds' },
    { name: 'nothing close', input: ['colour', ['retention', 'listen']], want: undefined },
    { name: 'short word, distance 2', input: ['lsten', ['listen', 'disks']], want: 'listen' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(suggest(...c.input), c.want));
  const distances: Array<{ name: string; input: [string, string]; want: number }> = [
    { name: 'equal', input: ['abc', 'abc'], want: 0 },
    { name: 'empty', input: ['', 'abc'], want: 3 },
    { name: 'substitution', input: ['abc', 'abd'], want: 1 },
    { name: 'adjacent swap', input: ['abcd', 'acbd'], want: 1 },
  ];
  for (const c of distances) it(`distance: ${c.name}`, () => assert.equal(editDistance(...c.input), c.want));
});

describe('formatConfig', () => {
  const full = [
    'snapshot_dir: "/var/lib/pre flight"',
    'interval_seconds: 0.25',
    'timeout_seconds: 0.0000001',
    'failure_threshold: 3',
    'confirm_interval_seconds: 1.5',
    'sample_seconds: 2',
    'buffer_samples: 99',
    'retention: 4',
    'journal_lines: 0',
    'disks: [/, "/mnt/a, b", "/mnt/#x"]',
    'listen: "[::1]:9187"',
    'api_token: s3cr3t-token',
    'notifications:',
    '  webhook: https://user:pw@discord.com/api/webhooks/123/tok3n?wait=true',
    '  format: discord',
    '  recovery: false',
    '  headers:',
    '    Authorization: Bearer hunter2',
    '    X-Other: "7"',
    'services:',
    '  - name: dead-drop',
    '    health_url: https://u:pass@example.org/drop/health?key=k3y',
    '    unit: dead-drop',
    '    expect_status: [200, 300-302]',
    '    expect_body: "say \\"ok\\": yes # really\\n"',
    '    interval_seconds: 0.1',
    '    timeout_seconds: 0.05',
    '  - name: "007"',
    '    health_url: http://127.0.0.1:1/',
  ].join('\n');
  const SECRETS = ['s3cr3t-token', 'hunter2', 'tok3n', 'pw@', 'pass@', 'k3y', '123/'];

  it('round-trips through parseConfig with secrets redacted', () => {
    const c = parseConfig(full, 'full.yaml', ENV);
    const text = formatConfig(c);
    const back = parseConfig(text, 'again.yaml', {});
    const want: Config = {
      ...c,
      file: 'again.yaml',
      apiToken: '<redacted>',
      notifications: {
        webhook: 'https://<redacted>@discord.com/<redacted>?wait=<redacted>',
        format: 'discord',
        publicUrl: 'http://[::1]:9187',
        recovery: false,
        headers: { Authorization: '<redacted>', 'X-Other': '<redacted>' },
      },
      services: c.services.map((s, i) => (i === 0 ? { ...s, healthUrl: 'https://<redacted>@example.org/drop/health?key=<redacted>' } : s)),
    };
    assert.deepEqual(back, want);
    // a second round changes nothing
    assert.equal(formatConfig({ ...back, file: 'full.yaml' }), text);
  });

  it('prints no secret', () => {
    const text = formatConfig(parseConfig(full, 'full.yaml', ENV));
    for (const s of SECRETS) assert.ok(!text.includes(s), `${s} leaked:\n${text}`);
    assert.match(text, /^api_token: <redacted>$/m);
  });

  const cases: Array<{ name: string; input: string; want: RegExp[]; sameServices: boolean }> = [
    { name: 'defaults', sameServices: true, input: SVC, want: [/^interval_seconds: 30$/m, /^disks: \[\/\]$/m, /^listen: 127\.0\.0\.1:9187$/m, /^  - name: web$/m, /^    expect_status: 200-399$/m] },
    { name: 'listen off, no notifications', sameServices: true, input: `listen: off\n${SVC}`, want: [/^listen: off$/m] },
    { name: 'quoted where a plain value would change meaning', sameServices: false, input: full, want: [/^snapshot_dir: \/var\/lib\/pre flight$/m, /^disks: \[\/, "\/mnt\/a, b", \/mnt\/#x\]$/m, /^  - name: "007"$/m, /^    timeout_seconds: 0\.05$/m, /^timeout_seconds: 0\.0000001$/m] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const text = formatConfig(parseConfig(c.input, 'p.yaml', ENV));
      for (const re of c.want) assert.match(text, re);
      if (c.sameServices) assert.deepEqual(parseConfig(text, 'p.yaml', {}).services, parseConfig(c.input, 'p.yaml', ENV).services);
    });
  }
});

describe('the example preflight.yaml', () => {
  const text = EXAMPLE;
  it('parses, with its services', () => {
    const c = parseConfig(text, 'preflight.yaml', ENV);
    assert.deepEqual(
      c.services.map((s) => [s.name, s.healthUrl, s.unit]),
      [
        ['dead-drop', 'https://example.org/drop/health', 'dead-drop.service'],
        ['web', 'http://127.0.0.1:8080/healthz', 'web.service'],
      ],
    );
  });
  it('sets no snapshot_dir: $STATE_DIRECTORY under systemd, else ~/.local/share/failure-context', () => {
    // a snapshot_dir in the example, copied to /etc, overrode $STATE_DIRECTORY and split the service's
    // folder from the one `sudo preflight last` reads
    assert.doesNotMatch(text, /^snapshot_dir:/m);
    assert.match(text, /^# snapshot_dir: /m);
    const cases = [
      { name: 'a shell', input: ENV, want: '/home/op/.local/share/failure-context' },
      { name: 'the service', input: { HOME: '/var/lib/preflight', STATE_DIRECTORY: '/var/lib/preflight' }, want: '/var/lib/preflight' },
    ];
    for (const c of cases) assert.equal(parseConfig(text, 'preflight.yaml', c.input).snapshotDir, c.want, c.name);
  });
  it('sends nothing: the notifications block is commented out', () => {
    assert.doesNotMatch(text, /^notifications:/m);
    assert.equal(parseConfig(text, 'preflight.yaml', ENV).notifications, undefined);
    assert.doesNotMatch(text, /replace-me/);
  });
  it('with notifications uncommented it still parses', () => {
    const n = parseConfig(uncommentNotifications(text), 'preflight.yaml', ENV).notifications;
    assert.equal(n?.format, 'ntfy');
    assert.equal(n?.webhook, 'https://ntfy.example.org/ops');
    assert.deepEqual(Object.keys(n?.headers ?? {}), ['Authorization']);
  });
  it('documents every key', () => {
    // every key the parser accepts: a key added there and not documented here fails
    const keys = new Set([...TOP_KEYS, ...SERVICE_KEYS, ...NOTIFICATION_KEYS]);
    assert.ok(keys.size > 20);
    for (const k of keys) assert.match(text, new RegExp(`^[ #]*(- )?${k}:`, 'm'), `${k} is not in preflight.yaml`);
  });
  it('with api_token uncommented it still parses', () => {
    const c = parseConfig(text.replace('# api_token:', 'api_token:'), 'preflight.yaml', ENV);
    assert.equal(c.apiToken, 'paste-a-long-random-token-here');
  });
});

describe('parseConfig on mangled input', () => {
  it('throws nothing but ConfigError, and points inside the file', () => {
    const base = EXAMPLE;
    let seed = 7; // fixed: a failure reproduces
    const rnd = (n: number): number => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
    const alphabet = [...' \t\n:-#[]{}"\'\\&*!|>%@`,?~.0123456789abcxyz😀\r'];
    let accepted = 0;
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      let text = base;
      for (let m = 1 + rnd(4); m > 0; m--) {
        const i = rnd(text.length);
        const ch = alphabet[rnd(alphabet.length)] ?? '';
        const op = rnd(3);
        text = op === 0 ? text.slice(0, i) + ch + text.slice(i + 1) : op === 1 ? text.slice(0, i) + ch + text.slice(i) : text.slice(0, i) + text.slice(i + 1 + rnd(20));
      }
      try {
        parseConfig(text, 'm.yaml', ENV);
        accepted++;
      } catch (err) {
        assert.ok(err instanceof ConfigError, `case ${n}: ${String(err)}\n${text}`);
        refused++;
        if (err.line === undefined) continue;
        const lines = text.split('\n');
        assert.ok(err.line >= 1 && err.line <= lines.length, `case ${n}: line ${err.line} of ${lines.length}: ${err.message}`);
        const width = [...(lines[err.line - 1] ?? '')].length;
        assert.ok(err.column !== undefined && err.column >= 1 && err.column <= width + 1, `case ${n}: column ${err.column} of ${width}: ${err.message}`);
      }
    }
    // both outcomes must occur, or the mutation is not exercising anything
    assert.ok(accepted > 100 && refused > 100, `accepted ${accepted}, refused ${refused}`);
  });
});
