import { Module } from '@nestjs/common';
import { RunEventHandlers } from './run-event-handlers';
import { RunEventsController } from './run-events.controller';

@Module({
  controllers: [RunEventsController],
  providers: [RunEventHandlers],
  exports: [RunEventHandlers],
})
export class RunEventsModule {}
