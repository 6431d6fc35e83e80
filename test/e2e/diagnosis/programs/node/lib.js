// Shared by the corpus's Node programs: an HTTP server on 127.0.0.1:$PORT whose /health asks the
// program how it is, plus the program's own routes (/break, ...). Each program fails in one real way;
// this file only keeps the boilerplate out of them. Errors are logged with console.error (stderr),
// as services do; journald records stdout and stderr alike.
'use strict';
const http = require('node:http');

/** The value of an environment variable the unit must set. */
function need(name) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    console.error(`${name} must be set`);
    process.exit(2);
  }
  return v;
}

/**
 * Serve 127.0.0.1:$PORT. `health(reply)` answers /health (reply(status, body)); `routes` maps a path to
 * `(req, res) => void`. A handler that throws is not caught: the process dies of it, as a real
 * service dies of an uncaught exception.
 */
function serve({ health, routes = {}, server = http.createServer(), port = Number(need('PORT')) }) {
  server.on('request', (req, res) => {
    const route = routes[req.url];
    if (req.url === '/health') {
      health((status, body) => {
        res.statusCode = status;
        res.end(`${body}\n`);
      });
    } else if (route) {
      route(req, res);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port} pid=${process.pid}`));
  return server;
}

/** The usual health: 200 until something sets `state.broken`, then 503 with `state.why`. */
function brokenHealth(state) {
  return (reply) => (state.broken ? reply(503, state.why ?? 'unavailable') : reply(200, 'ok'));
}

module.exports = { need, serve, brokenHealth };
