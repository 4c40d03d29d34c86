import { randomUUID } from 'node:crypto';
import type { RunEvent } from '../../src/run-events/run-event.schema';

/** Size of one encoded event, as the issue asks: about 500 bytes of JSON. */
export const EVENT_BYTES = 500;

/** Runs the events belong to: keys spread over every partition, as real traffic does. */
const RUNS = 1000;

/** A valid run.order_placed event whose JSON is EVENT_BYTES long, padded in `notes`. */
export function benchEvent(seq: number): RunEvent {
  const event = {
    id: randomUUID(),
    type: 'run.order_placed' as const,
    version: 1 as const,
    occurredAt: new Date(Date.UTC(2026, 10, 22, 9, 0, 0) + seq).toISOString(),
    runId: `run-2026-11-22-${String(seq % RUNS).padStart(4, '0')}`,
    payload: { orderId: `o-${seq}`, userId: 'U024BE7LH', item: 'flat white', notes: '' },
  };
  const missing = EVENT_BYTES - Buffer.byteLength(JSON.stringify(event));
  event.payload.notes = `oat milk, extra hot${'.'.repeat(Math.max(0, missing - 19))}`;
  return event;
}

export function benchEvents(count: number, from = 0): RunEvent[] {
  return Array.from({ length: count }, (_, i) => benchEvent(from + i));
}
