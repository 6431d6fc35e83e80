// A service that appends to $DATA (on a small tmpfs: TemporaryFileSystem=...:size=) from /break on:
// it fills the disk, and every /health then tries to write its journal record, fails with ENOSPC, logs
// it with the path, and answers 503.
'use strict';
const fs = require('node:fs');
const { need, serve } = require('./lib');

const data = need('DATA');
let writing = false;
const chunk = Buffer.alloc(16 << 10, 0x61);
serve({
  health: (reply) => {
    if (!writing) return reply(200, 'ok');
    try {
      fs.appendFileSync(data, chunk);
      reply(200, 'ok');
    } catch (err) {
      console.error(`error: cannot write ${data}: ${err.message}`);
      reply(503, 'disk full');
    }
  },
  routes: {
    '/break': (req, res) => {
      console.log(`recording every request in ${data}`);
      writing = true;
      try {
        for (;;) fs.appendFileSync(data, chunk);
      } catch {
        // full: the next health check says so
      }
      res.end('writing\n');
    },
  },
});
