// A service's health URL and probe options in preflight.yaml (src/config/service.ts): tcp://host:port,
// headers, tls_ca_file (read at load), tls_insecure; every bad value pointed at by line and column
// with a hint; header values redacted when the config is printed, and the printed config read back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatConfig, parseConfig, type ServiceConfig } from '../../src/config/config';
import { ConfigError } from '../../src/util/errors';

const ENV = { HOME: '/home/op' };
let dir = '';
let caFile = '';
let pem = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'preflight-config-ca-'));
  caFile = join(dir, 'ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', caFile, '-subj', '/CN=preflight config test', '-days', '2'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 30_000,
  });
  pem = readFileSync(caFile, 'utf8');
  writeFileSync(join(dir, 'not-pem.pem'), 'hello\n');
  writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  mkdirSync(join(dir, 'folder.pem'));
  writeFileSync(join(dir, 'locked.pem'), pem);
  chmodSync(join(dir, 'locked.pem'), 0o000);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const one = (lines: string): ServiceConfig => {
  const svc = parseConfig(`services:\n  - name: web\n${lines}`, 'p.yaml', ENV).services[0];
  assert.ok(svc);
  return svc;
};
const base = { name: 'web', expectStatus: [{ min: 200, max: 399 }], intervalSeconds: 30, timeoutSeconds: 10, bufferSamples: 30 };

describe('service probe options: valid', () => {
  const cases: Array<{ name: string; input: () => string; want: () => ServiceConfig }> = [
    { name: 'tcp://host:port', input: () => '    health_url: tcp://127.0.0.1:5432\n    unit: postgresql\n', want: () => ({ ...base, healthUrl: 'tcp://127.0.0.1:5432', unit: 'postgresql.service' }) },
    { name: 'tcp:// with a name and IPv6', input: () => '    health_url: "tcp://[::1]:6379"\n', want: () => ({ ...base, healthUrl: 'tcp://[::1]:6379' }) },
    {
      name: 'headers',
      input: () => '    health_url: http://127.0.0.1:8080/health\n    headers:\n      Authorization: Bearer t0ken\n      X-Count: 7\n',
      want: () => ({ ...base, healthUrl: 'http://127.0.0.1:8080/health', headers: { Authorization: 'Bearer t0ken', 'X-Count': '7' } }),
    },
    { name: 'tls_ca_file, read now', input: () => `    health_url: https://127.0.0.1:8443/health\n    tls_ca_file: ${caFile}\n`, want: () => ({ ...base, healthUrl: 'https://127.0.0.1:8443/health', tlsCaFile: caFile, tlsCa: pem }) },
    { name: 'tls_insecure: true', input: () => '    health_url: https://127.0.0.1:8443/health\n    tls_insecure: true\n', want: () => ({ ...base, healthUrl: 'https://127.0.0.1:8443/health', tlsInsecure: true }) },
    {
      name: 'tls_insecure: false beside tls_ca_file',
      input: () => `    health_url: https://127.0.0.1:8443/health\n    tls_ca_file: ${caFile}\n    tls_insecure: false\n`,
      want: () => ({ ...base, healthUrl: 'https://127.0.0.1:8443/health', tlsCaFile: caFile, tlsCa: pem, tlsInsecure: false }),
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(one(c.input()), c.want()));
});

interface ErrorCase {
  name: string;
  input: () => string;
  line: number;
  column: number;
  reason: RegExp;
  hint: RegExp;
}

describe('service probe options: errors name file, line, column and a hint', () => {
  const https = '    health_url: https://127.0.0.1:8443/health\n';
  const tcp = '    health_url: tcp://127.0.0.1:5432\n';
  const cases: ErrorCase[] = [
    { name: 'tcp:// without a port', input: () => '    health_url: tcp://127.0.0.1\n', line: 3, column: 17, reason: /^p\.yaml:3:17: services\.web\.health_url: no port in "tcp:\/\/127\.0\.0\.1" \(add the port/, hint: /^add the port the service listens on, e.g\. tcp:\/\/127\.0\.0\.1:5432$/ },
    { name: 'tcp:// port 0', input: () => '    health_url: tcp://db:0\n', line: 3, column: 17, reason: /port 0 in "tcp:\/\/db:0" is not 1-65535/, hint: /tcp:\/\/host:port and nothing else/ },
    { name: 'tcp:// with a path', input: () => '    health_url: tcp://db:5432/x\n', line: 3, column: 17, reason: /a path or query in "tcp:\/\/db:5432\/x"/, hint: /tcp:\/\/host:port and nothing else/ },
    { name: 'tcp:// quoted, no port', input: () => '    health_url: "tcp://db"\n', line: 3, column: 17, reason: /no port in "tcp:\/\/db"/, hint: /add the port/ },
    { name: 'expect_status on tcp://', input: () => `${tcp}    expect_status: 200\n`, line: 4, column: 5, reason: /services\.web\.expect_status: a tcp:\/\/ check only connects/, hint: /remove expect_status/ },
    { name: 'expect_body on tcp://', input: () => `${tcp}    expect_body: ok\n`, line: 4, column: 5, reason: /expect_body: a tcp:\/\/ check only connects/, hint: /remove expect_body/ },
    { name: 'headers on tcp://', input: () => `${tcp}    headers:\n      A: b\n`, line: 4, column: 5, reason: /headers: a tcp:\/\/ check only connects/, hint: /remove headers/ },
    { name: 'tls_insecure not a boolean', input: () => `${https}    tls_insecure: yes\n`, line: 4, column: 19, reason: /^p\.yaml:4:19: services\.web\.tls_insecure: expected true or false, got "yes" \(/, hint: /write true or false/ },
    { name: 'tls_insecure a number', input: () => `${https}    tls_insecure: 1\n`, line: 4, column: 19, reason: /tls_insecure: expected true or false, got 1 \(/, hint: /write true or false/ },
    { name: 'tls_insecure quoted', input: () => `${https}    tls_insecure: "true"\n`, line: 4, column: 19, reason: /tls_insecure: expected true or false, got "true"/, hint: /write true or false/ },
    { name: 'tls_insecure on http://', input: () => '    health_url: http://h/\n    tls_insecure: true\n', line: 4, column: 5, reason: /tls_insecure: health_url is http:\/\/, which uses no TLS/, hint: /https:\/\/ health URL, or remove tls_insecure/ },
    { name: 'tls_insecure with tls_ca_file', input: () => `${https}    tls_ca_file: ${caFile}\n    tls_insecure: true\n`, line: 5, column: 19, reason: /tls_insecure: true skips the verification tls_ca_file is for \(line 4\)/, hint: /keep one/ },
    { name: 'tls_ca_file missing', input: () => `${https}    tls_ca_file: /nonexistent/ca.pem\n`, line: 4, column: 18, reason: /^p\.yaml:4:18: services\.web\.tls_ca_file: cannot read "\/nonexistent\/ca\.pem" \(ENOENT\) \(no such file/, hint: /^no such file/ },
    { name: 'tls_ca_file a folder', input: () => `${https}    tls_ca_file: ${join(dir, 'folder.pem')}\n`, line: 4, column: 18, reason: /cannot read ".*folder\.pem" \(EISDIR\)/, hint: /name the PEM file itself/ },
    { name: 'tls_ca_file not PEM', input: () => `${https}    tls_ca_file: ${join(dir, 'not-pem.pem')}\n`, line: 4, column: 18, reason: /holds no PEM certificate/, hint: /BEGIN CERTIFICATE/ },
    { name: 'tls_ca_file PEM that does not parse', input: () => `${https}    tls_ca_file: ${join(dir, 'broken.pem')}\n`, line: 4, column: 18, reason: /is not a readable PEM certificate/, hint: /openssl x509/ },
    { name: 'tls_ca_file relative', input: () => `${https}    tls_ca_file: ca.pem\n`, line: 4, column: 18, reason: /tls_ca_file: expected an absolute path, got "ca\.pem"/, hint: /start it with \// },
    { name: 'tls_ca_file empty', input: () => `${https}    tls_ca_file:\n`, line: 4, column: 5, reason: /tls_ca_file: expected an absolute path, got nothing/, hint: /e\.g\./ },
    { name: 'tls_ca_file on http://', input: () => `    health_url: http://h/\n    tls_ca_file: ${caFile}\n`, line: 4, column: 5, reason: /tls_ca_file: health_url is http:\/\//, hint: /remove tls_ca_file/ },
    { name: 'service header name', input: () => `${https}    headers:\n      "X Bad": 1\n`, line: 5, column: 7, reason: /^p\.yaml:5:7: services\.web\.headers: "X Bad" is not a valid header name \(/, hint: /Authorization/ },
    { name: 'service header set twice', input: () => `${https}    headers:\n      X-A: 1\n      x-a: 2\n`, line: 6, column: 7, reason: /services\.web\.headers: header 'x-a' is already set on line 5/, hint: /ignore case/ },
    { name: 'service header with a newline', input: () => `${https}    headers:\n      X-A: "a\\nb"\n`, line: 5, column: 12, reason: /services\.web\.headers\.X-A: the value holds a control character/, hint: /one line/ },
    { name: 'service headers not a map', input: () => `${https}    headers: Bearer x\n`, line: 4, column: 14, reason: /services\.web\.headers: expected a map, got "Bearer x"/, hint: /Header-Name: value/ },
    { name: 'misspelt key', input: () => `${https}    tls_insecrue: true\n`, line: 4, column: 5, reason: /unknown key 'tls_insecrue' in services\.web/, hint: /did you mean tls_insecure\?/ },
  ];
  if (process.getuid?.() !== 0) {
    // root reads a file whatever its mode
    cases.push({ name: 'tls_ca_file unreadable', input: () => `${https}    tls_ca_file: ${join(dir, 'locked.pem')}\n`, line: 4, column: 18, reason: /cannot read ".*locked\.pem" \(EACCES\)/, hint: /readable by the user preflight runs as/ });
  }
  for (const c of cases) {
    it(c.name, () =>
      assert.throws(
        () => parseConfig(`services:\n  - name: web\n${c.input()}`, 'p.yaml', ENV),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
          assert.equal(err.file, 'p.yaml');
          assert.deepEqual({ line: err.line, column: err.column }, { line: c.line, column: c.column }, err.message);
          assert.match(err.message, c.reason);
          assert.match(err.hint ?? '', c.hint);
          return true;
        },
      ),
    );
  }
});

describe('the effective config: probe options printed, header values redacted, read back', () => {
  it('round-trips, with every header value redacted and the CA by its path', () => {
    const text = [
      'services:',
      '  - name: web',
      '    health_url: https://127.0.0.1:8443/health',
      '    headers:',
      '      Authorization: Bearer hunter2',
      `    tls_ca_file: ${caFile}`,
      '  - name: db',
      '    health_url: tcp://127.0.0.1:5432',
      '  - name: legacy',
      '    health_url: https://10.0.0.9/health',
      '    tls_insecure: true',
    ].join('\n');
    const c = parseConfig(text, 'p.yaml', ENV);
    const printed = formatConfig(c);
    assert.ok(!printed.includes('hunter2'), printed);
    assert.ok(!printed.includes('BEGIN CERTIFICATE'), 'the CA is printed by its path');
    assert.match(printed, /^ {4}headers:\n {6}Authorization: <redacted>\n {4}tls_ca_file: \S+ca\.pem$/m);
    assert.match(printed, /^ {2}- name: db\n {4}health_url: tcp:\/\/127\.0\.0\.1:5432\n {4}interval_seconds: 30$/m);
    assert.match(printed, /^ {4}tls_insecure: true$/m);
    const back = parseConfig(printed, 'again.yaml', ENV);
    assert.deepEqual(back.services, c.services.map((s) => (s.headers ? { ...s, headers: { Authorization: '<redacted>' } } : s)));
  });
});
