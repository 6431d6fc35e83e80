import type { Command } from './command';

export const sampleCommand: Command = {
  name: 'sample',
  summary: 'take one host sample (or one per second with --watch)',
  usage: 'sample [--json] [--watch]',
  options: {
    json: { type: 'boolean', description: 'print JSON' },
    watch: { type: 'boolean', short: 'w', description: 'sample every second until interrupted' },
  },
  positionals: [0, 0],
  async run({ io }) {
    io.out('not yet');
    return 0;
  },
};
