// Units without a health URL in preflight.yaml: `unit:` alone is a service watched through systemd, and
// `watch_failed_units` turns the host's failed units into services. The errors for these shapes are in
// config.test.ts's table (file:line:col and hint); here the shapes that parse, and the printed config.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatConfig, parseConfig } from '../../src/config/config';

const ENV = { HOME: '/home/op' };

describe('unit-only services and watch_failed_units', () => {
  it('unit: without health_url is a service with no health URL, its unit completed to .service', () => {
    const c = parseConfig('services:\n  - name: backup\n    unit: backup\n    timeout_seconds: 3\n', 'p.yaml', ENV);
    assert.deepEqual(c.services, [
      { name: 'backup', healthUrl: null, unit: 'backup.service', expectStatus: [{ min: 200, max: 399 }], intervalSeconds: 30, timeoutSeconds: 3, bufferSamples: 30 },
    ]);
    assert.equal(c.watchFailedUnits, undefined);
  });

  it('in map form, next to a service with a health URL', () => {
    const c = parseConfig('services:\n  backup:\n    unit: backup.service\n  web:\n    health_url: http://127.0.0.1:8080/health\n', 'p.yaml', ENV);
    assert.deepEqual(
      c.services.map((s) => [s.name, s.healthUrl, s.unit]),
      [
        ['backup', null, 'backup.service'],
        ['web', 'http://127.0.0.1:8080/health', undefined],
      ],
    );
  });

  it('watch_failed_units: true and false', () => {
    const svc = 'services:\n  - name: backup\n    unit: backup\n';
    assert.equal(parseConfig(`watch_failed_units: true\n${svc}`, 'p.yaml', ENV).watchFailedUnits, true);
    assert.equal(parseConfig(`watch_failed_units: false\n${svc}`, 'p.yaml', ENV).watchFailedUnits, false);
  });

  it('the printed config has no health_url or expect_status for it, and reads back the same', () => {
    const c = parseConfig('watch_failed_units: true\nservices:\n  - name: backup\n    unit: backup\n', 'p.yaml', ENV);
    const text = formatConfig(c);
    assert.match(text, /^watch_failed_units: true$/m);
    assert.match(text, /^ {2}- name: backup\n {4}unit: backup\.service\n {4}timeout_seconds: 10\n/m);
    assert.doesNotMatch(text, /health_url|expect_status/);
    assert.deepEqual(parseConfig(text, 'p.yaml', ENV), c);
  });
});
