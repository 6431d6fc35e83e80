// Test service run by the sandboxed systemd: serves 127.0.0.1:$PORT and fails on request, so tests can
// cause real crashes, OOM kills, hangs and 503s. It logs one line before each event, so the journal
// holds a known "last line" of the run that died.
//   /health  200 ok
//   /fail    503 (the process stays up)
//   /hang    never answers (the socket stays open until the client gives up)
//   /freeze  from now on /health never answers (the process stays up: hung, not crashed); /thaw undoes it
//   /crash   exits with status 3 (systemd: status=3/NOTIMPLEMENTED)
//   /hog     allocates 16 MiB every 10 ms until the kernel OOM-kills it (use with MemoryMax=)
'use strict';
const http = require('node:http');

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error(`flaky: PORT must be set to a port number (got ${JSON.stringify(process.env.PORT)})`);
  process.exit(2);
}
const hogged = [];
const hung = [];
let frozen = false;

console.log(`flaky starting pid=${process.pid} port=${port}`);
http
  .createServer((req, res) => {
    switch (req.url) {
      case '/health':
        if (frozen) hung.push(res);
        else res.end('ok\n');
        return;
      case '/freeze':
        console.log('freezing: /health will not answer');
        frozen = true;
        res.end('frozen\n');
        return;
      case '/thaw':
        console.log('thawing');
        frozen = false;
        res.end('thawed\n');
        return;
      case '/fail':
        console.log('failing request with 503');
        res.statusCode = 503;
        res.end('unavailable\n');
        return;
      case '/hang':
        console.log('hanging request');
        hung.push(res);
        return;
      case '/crash':
        console.error('about to crash with exit 3');
        res.end('crashing\n', () => setTimeout(() => process.exit(3), 20));
        return;
      case '/hog':
        console.log('allocating until killed');
        res.end('hogging\n');
        setInterval(() => hogged.push(Buffer.alloc(16 << 20, 1)), 10);
        return;
      default:
        res.statusCode = 404;
        res.end();
    }
  })
  .listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
