// A Type=notify service (NotifyAccess=all) that tells systemd READY=1 once it listens and sends
// WATCHDOG=1 every 500 ms with systemd-notify. /break stops the keep-alives (as a stuck event loop
// would): systemd's watchdog (WatchdogSec=) kills it with SIGABRT.
'use strict';
const { execFile } = require('node:child_process');
const { serve } = require('./lib');

// --pid: the message is sent as coming from this (long-lived) process, so systemd can tell which
// unit it belongs to even after the short-lived systemd-notify has exited
const notify = (what) =>
  execFile('systemd-notify', [`--pid=${process.pid}`, what], (err) => {
    if (err) console.error(`systemd-notify ${what}: ${err.message}`);
  });
let alive = true;
const server = serve({
  health: (reply) => reply(200, 'ok'),
  routes: {
    '/break': (req, res) => {
      console.log('worker stuck: keep-alives stop');
      alive = false;
      res.end('stuck\n');
    },
  },
});
server.on('listening', () => notify('--ready'));
setInterval(() => alive && notify('WATCHDOG=1'), 500);
