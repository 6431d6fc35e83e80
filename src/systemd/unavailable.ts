// The systemd readers (systemctl, journalctl) never throw at a capture: a missing tool, a denied
// journal or a hung command becomes a typed result that names the reason and the fix, and the
// capture records it in `capture.errors` and goes on (DESIGN: degrade, don't die).
import { CommandError, errnoCode, errorMessage } from '../util/errors';
import { firstLine } from '../util/text';

/** Why a systemd tool could not answer. */
export type UnavailableKind =
  /** the command is not installed (not a systemd host, or a minimal container) */
  | 'not-installed'
  /** the command exists but this host is not running systemd (or its bus is down) */
  | 'no-systemd'
  /** the user preflight runs as may not read this (journal without the systemd-journal group) */
  | 'permission'
  /** journald keeps no journal files (Storage=none, or it never ran) */
  | 'no-journal'
  | 'timeout'
  | 'failed';

/** A reader's answer when it has none: `ok: false` with one readable line a human can act on. */
export interface Unavailable {
  ok: false;
  kind: UnavailableKind;
  reason: string;
  /** The command line that was tried. */
  command: string;
}

/** What systemctl/journalctl print when the host has no running systemd (both seen on real hosts). */
const NO_SYSTEMD = /System has not been booted with systemd|Failed to connect to bus|Failed to get D-Bus connection/;

/** dbus-daemon drops a DynamicUser= client it cannot look up (seen on Debian 12, systemd 252). */
const BUS_REFUSED = /Transport endpoint is not connected/;

/** Map a failed `runChecked` of a systemd tool to a typed result. */
export function unavailableFrom(err: unknown, command: string, tool: string): Unavailable {
  if (err instanceof CommandError) {
    if (err.timedOut) return { ok: false, kind: 'timeout', reason: err.message, command };
    // a command that could not be started: run() rejects with the spawn error as cause
    if (err.exitCode === null && err.signal === null && err.cause !== undefined) {
      if (errnoCode(err.cause) === 'ENOENT') {
        return { ok: false, kind: 'not-installed', reason: `${tool} not found on PATH: is this a systemd host?`, command };
      }
      return { ok: false, kind: 'failed', reason: `${tool} could not be started: ${errorMessage(err.cause)}`, command };
    }
    if (BUS_REFUSED.test(err.stderr)) {
      return {
        ok: false,
        kind: 'permission',
        reason: `${tool}: ${firstLine(err.stderr)}: the system bus refused this user (a DynamicUser= service cannot reach it, systemd#22737): run preflight as a system user (preflight unit prints one)`,
        command,
      };
    }
    if (NO_SYSTEMD.test(err.stderr)) {
      return { ok: false, kind: 'no-systemd', reason: `${tool}: ${firstLine(err.stderr)} (systemd is not running here)`, command };
    }
    return { ok: false, kind: 'failed', reason: err.message, command };
  }
  return { ok: false, kind: 'failed', reason: `${tool}: ${errorMessage(err)}`, command };
}

