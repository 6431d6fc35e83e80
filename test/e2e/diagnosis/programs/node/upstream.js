// A service that refreshes from an upstream (http://127.0.0.1:$UPSTREAM_PORT/) every second once /break
// was called, with a 2000 ms timeout. The upstream accepts and never answers: each refresh logs
// "upstream timeout: GET <url> timed out after 2000ms" and /health answers 503 while the last failed.
'use strict';
const http = require('node:http');
const { need, serve, brokenHealth } = require('./lib');

const url = `http://127.0.0.1:${Number(need('UPSTREAM_PORT'))}/`;
const state = { broken: false, why: 'upstream timeout' };

function refresh() {
  const req = http.get(url, { timeout: 2000 }, (res) => {
    res.resume();
    state.broken = false;
  });
  req.on('timeout', () => {
    console.error(`upstream timeout: GET ${url} timed out after 2000ms`);
    state.broken = true;
    req.destroy();
  });
  req.on('error', () => {}); // destroy() after the timeout ends here; the timeout was logged
  req.on('close', () => setTimeout(refresh, 1000));
}

serve({
  health: brokenHealth(state),
  routes: {
    '/break': (req, res) => {
      console.log(`refreshing from ${url}`);
      refresh();
      res.end('refreshing\n');
    },
  },
});
