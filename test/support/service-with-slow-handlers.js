'use strict';
// `node test/support/service-with-slow-handlers.js <ms>`: the built service, started exactly as
// `node dist/main.js` starts it (dist/serve.js), with its run-event handlers replaced through
// overrideProvider by one that waits <ms> per event, as a handler waiting on Slack or a database does.
require('reflect-metadata');
const { Test } = require('@nestjs/testing');
const { serve } = require('../../dist/serve');
const { RunEventHandlers } = require('../../dist/run-events/run-event-handlers');

const handlerMs = Number(process.argv[2]);
if (!Number.isInteger(handlerMs) || handlerMs < 0) {
  process.stderr.write(`usage: service-with-slow-handlers.js <handler ms>, got ${process.argv[2]}\n`);
  process.exit(2);
}

serve(async (root, adapter) => {
  const moduleRef = await Test.createTestingModule({ imports: [root] })
    .overrideProvider(RunEventHandlers)
    .useValue({ handle: () => new Promise((resolve) => setTimeout(resolve, handlerMs)) })
    .compile();
  return moduleRef.createNestApplication(adapter, { bufferLogs: true, abortOnError: false });
});
