// A service whose /health checks a TCP dependency ($DEP_NAME on 127.0.0.1:$DEP_PORT) once /break was
// called: connect, send PING, wait 500 ms for an answer. A failure is logged with Node's own error
// message (it names the peer for ECONNREFUSED; for a reset the peer is appended) and answered 503.
'use strict';
const net = require('node:net');
const { need, serve } = require('./lib');

const name = need('DEP_NAME');
const port = Number(need('DEP_PORT'));
let checking = false;

function check(done) {
  const sock = net.connect(port, '127.0.0.1');
  const finish = (err) => {
    sock.destroy();
    done(err);
  };
  sock.setTimeout(500, () => finish(null)); // connected and no answer: the dependency is up, just quiet
  sock.on('connect', () => sock.write('PING\r\n'));
  sock.on('data', () => finish(null));
  sock.on('error', finish);
}

serve({
  health: (reply) => {
    if (!checking) return reply(200, 'ok');
    check((err) => {
      if (!err) return reply(200, 'ok');
      const peer = err.address ? '' : ` (peer 127.0.0.1:${port})`;
      console.error(`${name} unreachable: ${err.message}${peer}`);
      reply(503, `${name} unreachable`);
    });
  },
  routes: {
    '/break': (req, res) => {
      console.log(`checking ${name} on every health check`);
      checking = true;
      res.end('checking\n');
    },
  },
});
