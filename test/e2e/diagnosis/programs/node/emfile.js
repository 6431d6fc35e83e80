// A service that leaks file descriptors once /break was called: every /health then opens /dev/null
// until open() fails (EMFILE under the unit's LimitNOFILE=), logs the error, answers 503, and lets go
// of a few so the next connection can still be accepted.
'use strict';
const fs = require('node:fs');
const { serve } = require('./lib');

const held = [];
let leaking = false;
serve({
  health: (reply) => {
    if (!leaking) return reply(200, 'ok');
    try {
      for (;;) held.push(fs.openSync('/dev/null', 'r'));
    } catch (err) {
      console.error(`error: cannot open session store: ${err.message} (${held.length} descriptors held)`);
      reply(503, 'out of file descriptors');
      for (const fd of held.splice(-4)) fs.closeSync(fd);
    }
  },
  routes: {
    '/break': (req, res) => {
      console.log('session store: leaking descriptors from now on');
      leaking = true;
      res.end('leaking\n');
    },
  },
});
