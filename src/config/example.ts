// Is this config still the example? The repository's preflight.yaml is copied to /etc and started; if
// its services were not replaced, the daemon probes a placeholder forever and files a "failure" for it.
//
// Decision: recognise the example by what it watches, not by a marker comment. Its placeholder service
// checks example.org, a name reserved for examples (RFC 2606: example.com/.net/.org and the .example
// TLD never point at anyone's service), and its commented webhook is at ntfy.example.org. A marker line
// would survive the edit that makes a copy real (a warning forever, which teaches people to ignore it)
// and could be deleted without the services being edited; a reserved host in a health_url or webhook
// is wrong in every config, copied or not. The placeholder tokens (`paste-...-here`) are caught the
// same way: an api_token of the example's text is a token everyone who read the example knows.

import type { Config } from './config';

/** RFC 2606 names: example.com, example.net, example.org (and subdomains), and the .example TLD. */
export function isExampleHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return /(^|\.)example\.(com|net|org)$/.test(h) || /(^|\.)example$/.test(h);
}

/** The example's placeholder secrets: "paste-a-long-random-token-here" and the like. */
const PLACEHOLDER = /^(bearer\s+)?paste-[a-z-]*here$/i;

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** What in this config is the example's placeholder, in words; empty when none is. */
export function examplePlaceholders(config: Config): string[] {
  const out: string[] = [];
  const services = config.services.filter((s) => s.healthUrl !== null && isExampleHost(hostOf(s.healthUrl) ?? ''));
  if (services.length > 0) {
    const names = services.map((s) => s.name).join(', ');
    const verb = services.length === 1 ? 'checks' : 'check';
    out.push(`service${services.length === 1 ? '' : 's'} ${names} ${verb} ${hostOf(services[0]!.healthUrl ?? '')}, a name reserved for examples`);
  }
  const n = config.notifications;
  if (n && isExampleHost(hostOf(n.webhook) ?? '')) out.push(`the webhook is at ${hostOf(n.webhook)}, a name reserved for examples`);
  if (config.apiToken !== undefined && PLACEHOLDER.test(config.apiToken)) out.push("api_token is the example's placeholder");
  for (const [name, value] of Object.entries(n?.headers ?? {})) {
    if (PLACEHOLDER.test(value)) out.push(`header ${name} is the example's placeholder`);
  }
  return out;
}

/**
 * One line for `preflight start` (and `preflight unit`) when the config still holds the example's
 * placeholders, saying what to do; undefined for a config of one's own.
 */
export function exampleConfigWarning(config: Config): string | undefined {
  const found = examplePlaceholders(config);
  if (found.length === 0) return undefined;
  return `${config.file ?? 'the config'} is still the example config (${found.join('; ')}): list your own services under services:, and replace or remove the placeholders`;
}
