// A service that, on /break, starts worker processes (`sleep 600`) one after another until the kernel
// refuses a new one (EAGAIN under the unit's TasksMax=), logs that, and answers 503 from then on.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const { serve, brokenHealth } = require('./lib');

// start libuv's thread pool now: creating its threads later, at the task limit, would abort the process
fs.readFile(__filename, () => {});
const workers = [];
const state = { broken: false, why: 'cannot start workers' };

function startWorker() {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  child.on('spawn', () => {
    workers.push(child);
    startWorker();
  });
  child.on('error', (err) => {
    console.error(`error: cannot start worker: ${err.message} (${workers.length} workers running)`);
    state.broken = true;
  });
}

serve({
  health: brokenHealth(state),
  routes: {
    '/break': (req, res) => {
      console.log('scaling up workers');
      startWorker();
      res.end('scaling\n');
    },
  },
});
