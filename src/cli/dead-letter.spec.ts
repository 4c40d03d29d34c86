import { KafkaMessage } from 'kafkajs';
import { UsageError } from './cli-error';
import { matches, parseSince, toDeadLetter } from './dead-letter';
import { replayHeaders } from './dead-letters-replay';

const message = (headers: KafkaMessage['headers'], value: string | null = null): KafkaMessage =>
  ({ offset: '7', key: Buffer.from('run-1'), value: value === null ? null : Buffer.from(value), headers, timestamp: '0', attributes: 0 }) as KafkaMessage;

describe('parseSince', () => {
  const now = new Date('2026-12-03T12:00:00.000Z');

  it('reads durations back from now and ISO-8601 times', () => {
    expect(parseSince('15m', now)).toEqual(new Date('2026-12-03T11:45:00.000Z'));
    expect(parseSince('1h30m', now)).toEqual(new Date('2026-12-03T10:30:00.000Z'));
    expect(parseSince('2d', now)).toEqual(new Date('2026-12-01T12:00:00.000Z'));
    expect(parseSince('90s', now)).toEqual(new Date('2026-12-03T11:58:30.000Z'));
    expect(parseSince('2026-12-01T08:00:00Z', now)).toEqual(new Date('2026-12-01T08:00:00.000Z'));
    expect(parseSince(undefined, now)).toBeUndefined();
  });

  it.each(['yesterday', '15', '-5m', '5w', '2026-13-45', ''])('refuses %j', (value) => {
    expect(() => parseSince(value, now)).toThrow(UsageError);
  });
});

describe('a dead letter read back', () => {
  const letter = toDeadLetter(
    2,
    message(
      {
        'dlq.error.kind': 'handler_failed',
        'dlq.error.message': 'boom\nsecond line',
        'dlq.original.topic': 'cb.run.events',
        'dlq.attempts': '5',
        'dlq.failed.at': '2026-12-03T11:00:00.000Z',
        'x-request-id': Buffer.from('req-1'),
      },
      JSON.stringify({ id: 'e-1', type: 'run.closed', runId: 'run-1' }),
    ),
  );

  it('carries its reason, time, attempts, origin and the envelope fields', () => {
    expect(letter).toMatchObject({ ref: '2:7', kind: 'handler_failed', attempts: 5, originalTopic: 'cb.run.events' });
    expect(letter.event).toEqual({ id: 'e-1', type: 'run.closed', runId: 'run-1' });
    expect(toDeadLetter(0, message({}, 'not json')).event).toBeUndefined();
    expect(toDeadLetter(0, message({})).kind).toBe('unknown');
  });

  it('matches every filter given, and only those', () => {
    expect(matches(letter, {})).toBe(true);
    expect(matches(letter, { kinds: ['handler_failed'], eventIds: ['e-1'], since: new Date('2026-12-03T10:00:00Z') })).toBe(true);
    expect(matches(letter, { kinds: ['invalid_json'] })).toBe(false);
    expect(matches(letter, { eventIds: ['e-2'] })).toBe(false);
    expect(matches(letter, { since: new Date('2026-12-03T11:00:00.001Z') })).toBe(false);
  });

  it('is replayed with its own headers minus dlq.*, plus where and when it came from', () => {
    expect(replayHeaders(letter, '2026-12-03T12:00:00.000Z')).toEqual({
      'x-request-id': Buffer.from('req-1'),
      'dlq.replayed.from': '2:7',
      'dlq.replayed.at': '2026-12-03T12:00:00.000Z',
    });
  });
});
