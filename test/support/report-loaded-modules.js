'use strict';
// Preloaded with `node --require` into a process under test: when the process exits, writes every
// module file it loaded in its life (the keys of require.cache) to stderr, as one line
// `loaded modules: [...]`. Writes to a pipe are synchronous on POSIX, so the line is out before
// the process is gone. The list holds what was loaded as CommonJS: all of dist/ and what it
// requires (OpenTelemetry's packages and @fastify/otel among them), but only the entry file of
// an ES module package such as @nestjs/common, whose own imports are not in require.cache.
process.on('exit', () => process.stderr.write(`loaded modules: ${JSON.stringify(Object.keys(require.cache))}\n`));
