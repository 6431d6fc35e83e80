// The corpus's other listeners on 127.0.0.1: $SILENT_PORTS (comma separated) accept connections and
// never answer (an upstream that hangs; a port some other process holds), $RESET_PORT accepts and
// resets each connection (a dependency that drops its clients).
'use strict';
const net = require('node:net');

const held = [];
for (const port of (process.env.SILENT_PORTS ?? '').split(',').filter(Boolean).map(Number)) {
  net.createServer((sock) => held.push(sock)).listen(port, '127.0.0.1', () => console.log(`silent on 127.0.0.1:${port}`));
}
if (process.env.RESET_PORT) {
  const port = Number(process.env.RESET_PORT);
  net.createServer((sock) => sock.resetAndDestroy()).listen(port, '127.0.0.1', () => console.log(`resetting on 127.0.0.1:${port}`));
}
