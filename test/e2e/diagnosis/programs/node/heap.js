// A service that, from /break on, keeps every request's objects in a cache that is never trimmed. Run
// with --max-old-space-size=24: V8 gives up with "FATAL ERROR: ... JavaScript heap out of memory" and
// aborts (SIGABRT).
'use strict';
const { serve } = require('./lib');

const cache = [];
serve({
  health: (reply) => reply(200, 'ok'),
  routes: {
    '/break': (req, res) => {
      console.log('caching every response from now on');
      res.end('caching\n');
      setInterval(() => {
        for (let i = 0; i < 20000; i++) cache.push({ id: i, body: `response ${i} ${Date.now()}`, tags: [i, i + 1] });
      }, 5);
    },
  },
});
