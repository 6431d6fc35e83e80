// A service that re-reads its config file $CONFIG on /break with readFileSync and does not catch the
// error: a missing file (ENOENT) or one it may not read (EACCES) kills the process (exit 1) with Node's
// uncaught-exception report.
'use strict';
const fs = require('node:fs');
const { need, serve } = require('./lib');

const config = need('CONFIG');
serve({
  health: (reply) => reply(200, 'ok'),
  routes: {
    '/break': (req, res) => {
      console.log(`reloading configuration from ${config}`);
      // thrown from the write's callback: the answer is out before the process dies
      res.end('reloading\n', () => JSON.parse(fs.readFileSync(config, 'utf8')));
    },
  },
});
