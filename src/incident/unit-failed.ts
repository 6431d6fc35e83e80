// How a snapshot of a service watched without a health URL says what happened (units without a
// health URL, src/daemon/unit-only.ts). Its trigger is unit_restart like any unit event, but a unit
// that sits in failed (a timer's oneshot that exited 1) was restarted by nobody: the notification, the
// log and `preflight last` call it failed, not "restarted by systemd".
import type { Snapshot } from './snapshot';

/** A unit-only service whose unit was in failed at the commit. */
export const unitFailed = (s: Partial<Pick<Snapshot, 'health_url' | 'unit'>>): boolean => s.health_url === null && s.unit?.ActiveState === 'failed';
