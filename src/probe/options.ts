// One service's config as the probe's spec: the one place that says which config keys a check uses,
// so the daemon and `preflight doctor` probe a service the same way (headers, CA, tls_insecure).
import type { ServiceConfig } from '../config/config';
import type { ProbeSpec } from './result';

/** The check of `svc`, given at most `timeoutMs` (default: its timeout_seconds). */
export function probeSpecOf(svc: ServiceConfig, timeoutMs = svc.timeoutSeconds * 1000): ProbeSpec {
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
