// A service that, on /break, builds a report in memory until its cgroup's usage is $TARGET_PERCENT of
// the unit's memory limit (MemoryMax=), holds it, and answers 503 "busy" meanwhile. It reads usage and
// limit from its own cgroup (v1 memory controller or v2) so it gets close to the limit without the
// kernel's OOM killer stepping in.
'use strict';
const fs = require('node:fs');
const { need, serve, brokenHealth } = require('./lib');

const target = Number(need('TARGET_PERCENT')) / 100;

function cgroupMemory() {
  const lines = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('memory'));
  if (v1) {
    const dir = `/sys/fs/cgroup/memory${v1.split(':')[2]}`;
    const read = (f) => Number(fs.readFileSync(`${dir}/${f}`, 'utf8'));
    return () => ({ usage: read('memory.usage_in_bytes'), limit: read('memory.limit_in_bytes') });
  }
  const dir = `/sys/fs/cgroup${lines.find((l) => l.startsWith('0::')).slice(3)}`;
  const read = (f) => Number(fs.readFileSync(`${dir}/${f}`, 'utf8'));
  return () => ({ usage: read('memory.current'), limit: read('memory.max') });
}

const memory = cgroupMemory();
const held = [];
const state = { broken: false, why: 'busy' };
serve({
  health: brokenHealth(state),
  routes: {
    '/break': (req, res) => {
      const { limit } = memory();
      console.log(`building report: holding memory up to ${Math.round(target * 100)}% of ${limit} bytes`);
      state.broken = true;
      while (memory().usage < target * limit) held.push(Buffer.alloc(1 << 20, 1));
      const { usage } = memory();
      console.log(`report buffers: ${held.length} MiB held, cgroup usage ${usage} of ${limit} bytes`);
      res.end('busy\n');
    },
  },
});
