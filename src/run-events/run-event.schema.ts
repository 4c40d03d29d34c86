import { z } from 'zod';

/**
 * The run event contract, declared once: zod gives the runtime validation
 * and the TypeScript types, and `npm run schemas` exports JSON Schema for
 * producers in other languages. Objects are loose: unknown fields are kept,
 * so a newer producer never poisons an older consumer.
 */

const isoDateTime = z.iso.datetime({ offset: true });
const text = (max = 200) => z.string().min(1).max(max);

export const runEventPayloads = {
  'run.created': z.looseObject({ channelId: text(), runnerId: text(), closesAt: isoDateTime, place: text().optional() }),
  'run.order_placed': z.looseObject({ orderId: text(), userId: text(), item: text(200), notes: z.string().max(1000).optional() }),
  'run.order_updated': z.looseObject({ orderId: text(), item: text(200).optional(), notes: z.string().max(1000).optional() }),
  'run.order_cancelled': z.looseObject({ orderId: text() }),
  'run.closed': z.looseObject({ closedBy: text(), orderCount: z.number().int().min(0) }),
  'run.cancelled': z.looseObject({ cancelledBy: text(), reason: z.string().max(1000).optional() }),
  'run.reminder_due': z.looseObject({ remindAt: isoDateTime, minutesLeft: z.number().int().min(0) }),
} as const;

export type RunEventType = keyof typeof runEventPayloads;
export const RUN_EVENT_TYPES = Object.keys(runEventPayloads) as RunEventType[];

const envelopeFields = {
  id: z.uuid(),
  version: z.literal(1),
  occurredAt: isoDateTime,
  runId: z.string().min(1).max(64),
};

const variants = RUN_EVENT_TYPES.map((type) =>
  z.looseObject({ ...envelopeFields, type: z.literal(type), payload: runEventPayloads[type] }),
) as unknown as [RunEventVariant<'run.created'>, ...RunEventVariant<RunEventType>[]];

type RunEventVariant<T extends RunEventType> = z.ZodObject<
  typeof envelopeFields & { type: z.ZodLiteral<T>; payload: (typeof runEventPayloads)[T] },
  z.core.$loose
>;

export const runEventSchema = z.discriminatedUnion('type', variants);

export type RunEventOf<T extends RunEventType> = z.output<RunEventVariant<T>>;
export type RunEvent = { [T in RunEventType]: RunEventOf<T> }[RunEventType];

export type DecodeFailure = {
  kind: 'empty_value' | 'too_large' | 'invalid_json' | 'schema_invalid';
  message: string;
  /** The envelope's id when the value had one, for the dead-letter log line. */
  eventId?: string;
};
export type DecodeResult = { ok: true; event: RunEvent } | { ok: false; failure: DecodeFailure };

/** Turns a raw Kafka value into a run event, or says exactly why it cannot. */
export function decodeRunEvent(value: Buffer | null, maxBytes: number): DecodeResult {
  if (value === null || value.length === 0) return fail('empty_value', 'message has no value');
  if (value.length > maxBytes) return fail('too_large', `value of ${value.length} bytes exceeds the ${maxBytes}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return fail('invalid_json', `value is not JSON: ${(error as Error).message}`);
  }
  const parsed = runEventSchema.safeParse(json);
  if (!parsed.success) {
    const id = (json as { id?: unknown } | null)?.id;
    return fail('schema_invalid', describeIssues(parsed.error), typeof id === 'string' ? id : undefined);
  }
  return { ok: true, event: parsed.data as RunEvent };
}

/** Validation for publishers: throws a readable error for an invalid event. */
export function assertRunEvent(value: unknown): RunEvent {
  const parsed = runEventSchema.safeParse(value);
  if (!parsed.success) throw new InvalidRunEventError(describeIssues(parsed.error));
  return parsed.data as RunEvent;
}

export class InvalidRunEventError extends Error {
  override readonly name = 'InvalidRunEventError';
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function fail(kind: DecodeFailure['kind'], message: string, eventId?: string): DecodeResult {
  return { ok: false, failure: { kind, message, eventId } };
}
