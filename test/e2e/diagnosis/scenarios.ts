// The diagnosis corpus: one entry per real failure (or planned non-failure) under real systemd, each
// with its own unit and port, all run at once in ONE sandbox by diagnosis.test.ts, so that every
// scenario is every other one's neighbour. Types and builders: scenario.ts; ports: ports.ts.
import { AROUND } from './ports';
import { nodeExec, unitFile, type Scenario } from './scenario';
import { OWN_WORDS } from './scenarios/own-words';
import { PROBE_AND_NEIGHBOURS } from './scenarios/probe-and-neighbours';
import { SYSTEMD_RECORD } from './scenarios/systemd';

export const SCENARIOS: Scenario[] = [...SYSTEMD_RECORD, ...OWN_WORDS, ...PROBE_AND_NEIGHBOURS];

/** Units every scenario may lean on: the silent upstream, the held port, the resetting dependency. */
export const SHARED_UNITS: Record<string, string> = {
  'corpus-listeners.service': unitFile({
    about: 'diagnosis corpus: listeners that never answer, hold a port, reset',
    exec: nodeExec('listeners.js'),
    env: { SILENT_PORTS: `${AROUND.silentUpstream},${AROUND.taken}`, RESET_PORT: AROUND.resetting },
  }),
};
