import { assertRunEvent, decodeRunEvent, InvalidRunEventError, RUN_EVENT_TYPES } from './run-event.schema';

const base = {
  id: '6f1c2b1e-3c55-4d0e-9a43-0c8d2f3a9b10',
  version: 1,
  occurredAt: '2026-11-22T09:41:07.512Z',
  runId: 'run-2026-11-22-0007',
};

const payloads: Record<string, object> = {
  'run.created': { channelId: 'C1', runnerId: 'U1', closesAt: '2026-11-22T10:00:00Z', place: 'Kaffeebar' },
  'run.order_placed': { orderId: 'o-17', userId: 'U024BE7LH', item: 'flat white', notes: 'oat milk' },
  'run.order_updated': { orderId: 'o-17', notes: 'no sugar' },
  'run.order_cancelled': { orderId: 'o-17' },
  'run.closed': { closedBy: 'U1', orderCount: 0 },
  'run.cancelled': { cancelledBy: 'U1' },
  'run.reminder_due': { remindAt: '2026-11-22T09:55:00+01:00', minutesLeft: 5 },
};

const encode = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('decodeRunEvent', () => {
  it('covers every event type of the contract', () => {
    expect(Object.keys(payloads).sort()).toEqual([...RUN_EVENT_TYPES].sort());
  });

  it.each(Object.entries(payloads))('accepts a valid %s event', (type, payload) => {
    const result = decodeRunEvent(encode({ ...base, type, payload }), 65536);
    expect(result).toMatchObject({ ok: true, event: { type, runId: base.runId } });
  });

  it('keeps unknown fields instead of rejecting them', () => {
    const result = decodeRunEvent(
      encode({ ...base, type: 'run.order_cancelled', traceId: 't-1', payload: { orderId: 'o-1', reason: 'changed mind' } }),
      65536,
    );
    expect(result).toMatchObject({ ok: true, event: { traceId: 't-1', payload: { orderId: 'o-1', reason: 'changed mind' } } });
  });

  it.each([
    ['no value', null, 'empty_value'],
    ['an empty value', Buffer.alloc(0), 'empty_value'],
    ['a value over the size limit', Buffer.alloc(70000, 32), 'too_large'],
    ['a value that is not JSON', Buffer.from('{"id": oops'), 'invalid_json'],
    ['an unknown type', encode({ ...base, type: 'run.exploded', payload: {} }), 'schema_invalid'],
    ['an unknown version', encode({ ...base, version: 2, type: 'run.cancelled', payload: { cancelledBy: 'U1' } }), 'schema_invalid'],
    ['an id that is no UUID', encode({ ...base, id: 'abc', type: 'run.cancelled', payload: { cancelledBy: 'U1' } }), 'schema_invalid'],
    ['a runId over 64 characters', encode({ ...base, runId: 'r'.repeat(65), type: 'run.cancelled', payload: { cancelledBy: 'U1' } }), 'schema_invalid'],
    ['a missing payload field', encode({ ...base, type: 'run.order_placed', payload: { orderId: 'o', userId: 'U' } }), 'schema_invalid'],
    ['an item over 200 characters', encode({ ...base, type: 'run.order_placed', payload: { orderId: 'o', userId: 'U', item: 'x'.repeat(201) } }), 'schema_invalid'],
    ['a negative order count', encode({ ...base, type: 'run.closed', payload: { closedBy: 'U', orderCount: -1 } }), 'schema_invalid'],
    ['a closesAt that is no date', encode({ ...base, type: 'run.created', payload: { channelId: 'C', runnerId: 'U', closesAt: 'soon' } }), 'schema_invalid'],
    ['a JSON array', encode([1, 2]), 'schema_invalid'],
  ])('rejects %s', (_, value, kind) => {
    const result = decodeRunEvent(value as Buffer | null, 65536);
    expect(result).toMatchObject({ ok: false, failure: { kind } });
  });

  it('names the field that failed', () => {
    const result = decodeRunEvent(encode({ ...base, type: 'run.closed', payload: { closedBy: 'U' } }), 65536);
    expect(result.ok || result.failure.message).toContain('payload.orderCount');
  });
});

describe('assertRunEvent', () => {
  it('throws a readable error for an invalid event', () => {
    expect(() => assertRunEvent({ ...base, type: 'run.closed', payload: {} })).toThrow(InvalidRunEventError);
    expect(() => assertRunEvent({ ...base, type: 'run.closed', payload: {} })).toThrow(/payload.closedBy/);
  });
});
