// A service that fails by its own words: /break logs $LINE and answers 503 from then on (the process
// stays up). Also /crash (exit 3), /throw (an uncaught `new Error($THROW)`) and /flag (writes $FLAG;
// every later start then logs $FATAL and exits 1, the way a service without its config does).
'use strict';
const fs = require('node:fs');
const { serve, brokenHealth } = require('./lib');

if (process.env.FLAG && fs.existsSync(process.env.FLAG)) {
  console.error(process.env.FATAL ?? 'fatal: cannot start');
  process.exit(1);
}
const state = { broken: false };
serve({
  health: brokenHealth(state),
  routes: {
    '/break': (req, res) => {
      console.error(process.env.LINE ?? 'error: something broke');
      state.broken = true;
      res.end('broken\n');
    },
    '/crash': (req, res) => {
      console.error('about to crash with exit 3');
      res.end('crashing\n', () => setTimeout(() => process.exit(3), 20));
    },
    '/throw': (req, res) => {
      res.end('throwing\n', () => {
        throw new Error(process.env.THROW ?? 'something broke');
      });
    },
    '/flag': (req, res) => {
      fs.writeFileSync(process.env.FLAG, 'broken\n');
      console.log('configuration changed: takes effect at the next start');
      res.end('flagged\n');
    },
  },
});
