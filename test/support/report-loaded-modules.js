'use strict';
// Preloaded with `node --require` into a process under test: when the process exits, writes every
// module file it loaded in its life (the keys of require.cache) to stderr, as one line
// `loaded modules: [...]`. Writes to a pipe are synchronous on POSIX, so the line is out before
// the process is gone.
process.on('exit', () => process.stderr.write(`loaded modules: ${JSON.stringify(Object.keys(require.cache))}\n`));
