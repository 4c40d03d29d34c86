'use strict';
// The baseline for the probes: a bare node:http server answering the same
// JSON bodies as the service's /health/live and /health/ready (given in
// BARE_BODIES as {"/health/live": {...}, ...}), on BARE_PORT.
const { createServer } = require('node:http');

const bodies = new Map(Object.entries(JSON.parse(process.env.BARE_BODIES || '{}')).map(([path, body]) => [path, JSON.stringify(body)]));

const server = createServer((request, response) => {
  const body = bodies.get(request.url);
  if (body === undefined) {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{}');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
});
server.listen(Number(process.env.BARE_PORT || 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
