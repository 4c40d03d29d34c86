'use strict';
// `node test/support/service-with-failing-run.js <runId> <failUntil>`: the built service, started
// exactly as `node dist/main.js` starts it (dist/serve.js), with a handler registered through
// `handlers.on` as a feature registers one: every event of <runId> fails until the wall-clock time
// <failUntil> (ms since the epoch), every other event succeeds. Each attempt is written to stderr
// as one JSON line ({ attempt: { eventId, runId, start, end, ok } }), for tests that compare the
// attempts of several processes.
require('reflect-metadata');
const { Test } = require('@nestjs/testing');
const { serve } = require('../../dist/serve');
const { RunEventHandlers } = require('../../dist/run-events/run-event-handlers');

const [failingRun, failUntilArg] = process.argv.slice(2);
const failUntil = Number(failUntilArg);
if (!failingRun || !Number.isFinite(failUntil)) {
  process.stderr.write(`usage: service-with-failing-run.js <runId> <failUntil ms>, got ${process.argv.slice(2).join(' ')}\n`);
  process.exit(2);
}

serve(async (root, adapter) => {
  const moduleRef = await Test.createTestingModule({ imports: [root] }).compile();
  const app = moduleRef.createNestApplication(adapter, { bufferLogs: true, abortOnError: false });
  app.get(RunEventHandlers).on('run.order_placed', async (event) => {
    const start = Date.now();
    // A turn of the event loop, as a call to Slack takes, so attempts have a duration.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const ok = event.runId !== failingRun || Date.now() >= failUntil;
    process.stderr.write(`${JSON.stringify({ attempt: { eventId: event.id, runId: event.runId, start, end: Date.now(), ok } })}\n`);
    if (!ok) throw new Error('Slack answered 503');
  });
  return app;
});
