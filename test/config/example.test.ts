// The example config is recognised by its placeholders (example.* hosts, paste-...-here tokens), so
// `preflight start` can say that it is running the example.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config';
import { exampleConfigWarning, isExampleHost } from '../../src/config/example';
import { EXAMPLE, uncommentNotifications } from './_example';

const ENV = { HOME: '/home/op' };
const svc = (name: string, url: string): string => `  - name: ${name}\n    health_url: ${url}\n`;

describe('isExampleHost: the names RFC 2606 reserves for examples', () => {
  const cases: Array<{ name: string; input: string; want: boolean }> = [
    { name: 'example.org', input: 'example.org', want: true },
    { name: 'a subdomain of example.com', input: 'ntfy.example.com', want: true },
    { name: 'example.net, upper case, trailing dot', input: 'EXAMPLE.NET.', want: true },
    { name: 'the .example TLD', input: 'box.example', want: true },
    { name: 'a name ending in example.org', input: 'notexample.org', want: false },
    { name: 'example.org as a label of another domain', input: 'example.org.evil.com', want: false },
    { name: 'example.co is a real TLD', input: 'example.co', want: false },
    { name: 'loopback', input: '127.0.0.1', want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(isExampleHost(c.input), c.want));
});

describe('exampleConfigWarning', () => {
  const cases: Array<{ name: string; input: string; want: RegExp[] | undefined }> = [
    {
      name: 'the repository example as shipped',
      input: EXAMPLE,
      want: [/^preflight\.yaml is still the example config \(service dead-drop checks example\.org, a name reserved for examples\): list your own services under services:/],
    },
    {
      name: 'the example with its notifications and api_token uncommented',
      input: uncommentNotifications(EXAMPLE).replace('# api_token:', 'api_token:'),
      want: [/service dead-drop checks example\.org/, /the webhook is at ntfy\.example\.org/, /api_token is the example's placeholder/, /header Authorization is the example's placeholder/],
    },
    { name: 'several services at example hosts are named together', input: `services:\n${svc('a', 'https://example.com/')}${svc('b', 'http://x.example/h')}`, want: [/services a, b check example\.com, a name/] },
    { name: 'the example with its services replaced', input: EXAMPLE.slice(0, EXAMPLE.indexOf('services:\n  - name: dead-drop')) + `services:\n${svc('web', 'http://127.0.0.1:8080/healthz')}`, want: undefined },
    { name: 'a config of its own', input: `api_token: 3f9a0c1e5b7d\nservices:\n${svc('web', 'http://127.0.0.1:8080/health')}`, want: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const w = exampleConfigWarning(parseConfig(c.input, 'preflight.yaml', ENV));
      if (c.want === undefined) return assert.equal(w, undefined);
      assert.ok(w !== undefined, 'no warning');
      assert.ok(!w.includes('\n'), 'one line');
      for (const re of c.want) assert.match(w, re);
    });
  }
});
