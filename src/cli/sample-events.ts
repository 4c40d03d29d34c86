import { randomUUID } from 'node:crypto';
import { RUN_EVENT_TYPES, RunEventType } from '../run-events/run-event.schema';
import { UsageError } from './cli-error';

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

/** A plausible payload for each run event type, for trying the service by hand. */
const SAMPLE_PAYLOADS: Record<RunEventType, () => Record<string, unknown>> = {
  'run.created': () => ({ channelId: 'C024BE91L', runnerId: 'U024BE7LH', closesAt: inAnHour(), place: 'Corner Café' }),
  'run.order_placed': () => ({ orderId: `o-${randomUUID().slice(0, 8)}`, userId: 'U024BE7LH', item: 'flat white', notes: 'oat milk' }),
  'run.order_updated': () => ({ orderId: 'o-1', item: 'cortado' }),
  'run.order_cancelled': () => ({ orderId: 'o-1' }),
  'run.closed': () => ({ closedBy: 'U024BE7LH', orderCount: 3 }),
  'run.cancelled': () => ({ cancelledBy: 'U024BE7LH', reason: 'machine broken' }),
  'run.reminder_due': () => ({ remindAt: inAnHour(), minutesLeft: 10 }),
};

/** A new event of `type` for `runId`, with a fresh id. */
export function sampleEvent(type: string, runId: string): Record<string, unknown> {
  if (!(RUN_EVENT_TYPES as string[]).includes(type)) {
    throw new UsageError(`unknown event type ${JSON.stringify(type)}: expected one of ${RUN_EVENT_TYPES.join(', ')}`);
  }
  return {
    id: randomUUID(),
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    runId,
    payload: SAMPLE_PAYLOADS[type as RunEventType](),
  };
}
