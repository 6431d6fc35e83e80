// An HTTPS service on 127.0.0.1:$PORT serving $TLS_DIR/$CERT.{pem,key}; /break swaps in
// $TLS_DIR/$BREAK_CERT.{pem,key} with server.setSecureContext (a renewal that installed the wrong
// certificate): the process stays up, and every new TLS handshake gets the other certificate.
'use strict';
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const { need, serve } = require('./lib');

const dir = need('TLS_DIR');
const pair = (name) => ({ key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.pem`)) });
const server = https.createServer(pair(need('CERT')));
serve({
  server,
  health: (reply) => reply(200, 'ok'),
  routes: {
    '/break': (req, res) => {
      const next = need('BREAK_CERT');
      console.log(`installing certificate ${next}`);
      server.setSecureContext(pair(next));
      res.end('switched\n');
    },
  },
});
