'use strict';
// The baseline for start-up and memory: a minimal NestJS application on
// Fastify with one controller answering GET /health/live, listening on
// MINIMAL_PORT. Plain JavaScript (decorators applied as functions) so that
// it starts like the compiled service, with no transpiler in the way.
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');

class HealthController {
  live() {
    return { status: 'ok', info: { process: { status: 'up' } }, error: {}, details: { process: { status: 'up' } } };
  }
}
Get('live')(HealthController.prototype, 'live', Object.getOwnPropertyDescriptor(HealthController.prototype, 'live'));
Controller('health')(HealthController);

class AppModule {}
Module({ controllers: [HealthController] })(AppModule);

async function main() {
  const app = await NestFactory.create(AppModule, new FastifyAdapter());
  app.enableShutdownHooks();
  await app.listen(Number(process.env.MINIMAL_PORT || 0), '127.0.0.1');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
