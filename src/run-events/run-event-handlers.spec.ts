import { RunEventHandlers } from './run-event-handlers';
import { RunEvent } from './run-event.schema';

const event = (type: RunEvent['type'], payload: object) =>
  ({ id: '6f1c2b1e-3c55-4d0e-9a43-0c8d2f3a9b10', version: 1, occurredAt: '2026-11-22T09:41:07.512Z', runId: 'run-1', type, payload }) as RunEvent;

const context = { signal: new AbortController().signal };

describe('RunEventHandlers', () => {
  it('calls the handlers registered for the event type, in order, and no others', async () => {
    const handlers = new RunEventHandlers();
    const calls: string[] = [];
    handlers.on('run.closed', (e) => void calls.push(`first ${e.payload.orderCount}`));
    handlers.on('run.closed', async () => void calls.push('second'));
    handlers.on('run.created', () => void calls.push('created'));
    await handlers.handle(event('run.closed', { closedBy: 'U1', orderCount: 3 }), context);
    expect(calls).toEqual(['first 3', 'second']);
  });

  it('accepts an event nobody handles', async () => {
    await expect(new RunEventHandlers().handle(event('run.cancelled', { cancelledBy: 'U1' }), context)).resolves.toBeUndefined();
  });

  it('gives each handler the attempt signal', async () => {
    const handlers = new RunEventHandlers();
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    handlers.on('run.closed', (_event, { signal }) => void seen.push(signal));
    await handlers.handle(event('run.closed', { closedBy: 'U1', orderCount: 0 }), { signal: controller.signal });
    expect(seen).toEqual([controller.signal]);
  });

  it('lets a handler error reach the caller, for the pipeline to retry', async () => {
    const handlers = new RunEventHandlers();
    handlers.on('run.cancelled', () => {
      throw new Error('slack unavailable');
    });
    await expect(handlers.handle(event('run.cancelled', { cancelledBy: 'U1' }), context)).rejects.toThrow('slack unavailable');
  });
});
