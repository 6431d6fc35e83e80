// placeholder until the findings branch lands
import type { HostSample } from '../sample/host';
import type { Finding, Snapshot } from './snapshot';
export interface FindingsInput {
  error: Snapshot['error'];
  trigger: Snapshot['trigger'];
  unit: Snapshot['unit'];
  exit: Snapshot['exit'];
  journal: Snapshot['journal'];
  kernel: Snapshot['kernel'];
  samples: HostSample[];
  cpus: number;
  memoryEvents?: { oom: number; oomKill: number } | null;
  previousRestarts?: { at: string; nRestarts: number }[];
}
export function computeFindings(_input: FindingsInput): Finding[] {
  return [];
}
