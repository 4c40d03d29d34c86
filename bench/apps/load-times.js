'use strict';
// Loads the modules named in argv, in order, in this fresh process and
// prints how long each one took and how much resident memory it added
// (shared dependencies count for the first module that pulls them in), as
// one JSON line.
const path = require('node:path');

const times = [];
for (const name of process.argv.slice(2)) {
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  require(name.startsWith('.') || name.startsWith('/') ? path.resolve(name) : name);
  times.push({ module: name, ms: performance.now() - started, rssMb: (process.memoryUsage().rss - rss) / 2 ** 20 });
}
process.stdout.write(`${JSON.stringify(times)}\n`);
