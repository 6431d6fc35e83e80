// One service's config as the probe's spec: the one place that says which config keys a check uses,
// so the daemon and `preflight doctor` probe a service the same way (headers, CA, tls_insecure).
import type { ServiceConfig } from '../config/config';
import type { ProbeSpec } from './result';

/** A check asked of a unit-only service: a caller's bug (such a service is watched through systemd alone). */
export class NoHealthUrlError extends Error {
  constructor(readonly service: string) {
    super(`service ${service} has no health_url to check`);
    this.name = 'NoHealthUrlError';
  }
}

/** The check of `svc` (one with a health URL: a unit-only service has no check), given at most `timeoutMs` (default: its timeout_seconds). */
export function probeSpecOf(svc: ServiceConfig, timeoutMs = svc.timeoutSeconds * 1000): ProbeSpec {
  if (svc.healthUrl === null) throw new NoHealthUrlError(svc.name);
  return {
    url: svc.healthUrl,
    timeoutMs,
    expectStatus: svc.expectStatus,
    ...(svc.expectBody !== undefined ? { expectBody: svc.expectBody } : {}),
    ...(svc.headers !== undefined && Object.keys(svc.headers).length > 0 ? { headers: svc.headers } : {}),
    ...(svc.tlsCa !== undefined ? { ca: svc.tlsCa } : {}),
    ...(svc.tlsInsecure === true ? { insecure: true } : {}),
  };
}
