// A service that moves to $NEW_PORT on /break (a config reload: close the listener, listen again). If
// another process holds $NEW_PORT, the unhandled 'error' event (EADDRINUSE) kills it (exit 1); if not,
// it lives on, listening somewhere its health check does not look.
'use strict';
const { need, serve } = require('./lib');

const newPort = Number(need('NEW_PORT'));
const server = serve({
  health: (reply) => reply(200, 'ok'),
  routes: {
    '/break': (req, res) => {
      console.log(`configuration reloaded: moving to 127.0.0.1:${newPort}`);
      res.end('moving\n', () => {
        server.close();
        server.listen(newPort, '127.0.0.1');
      });
    },
  },
});
