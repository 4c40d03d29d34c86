import { IHeaders, KafkaMessage } from 'kafkajs';
import { DEAD_LETTER_KINDS, DeadLetterKind, DLQ_HEADERS } from '../run-events/dead-letter-writer';
import { UsageError } from './cli-error';

/** What the replay marker topic says about one letter (absent: never replayed). */
export type ReplayState = 'replaying' | 'replayed';

/** One message of the dead-letter topic, with what its headers and value say. */
export interface DeadLetterRecord {
  /** `partition:offset` in the dead-letter topic: the letter's name. */
  ref: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  kind: string;
  failedAt?: string;
  attempts?: number;
  error: string;
  originalTopic?: string;
  /** Envelope fields, when the value is JSON that has them. */
  event?: { id?: string; type?: string; runId?: string };
  replay?: ReplayState;
}

export const letterRef = (partition: number, offset: string) => `${partition}:${offset}`;

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.at(-1) : value)?.toString();
}

export function toDeadLetter(partition: number, message: KafkaMessage, replay?: ReplayState): DeadLetterRecord {
  const headers = message.headers ?? {};
  const attempts = Number(headerText(headers, DLQ_HEADERS.attempts));
  return {
    ref: letterRef(partition, message.offset),
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers,
    kind: headerText(headers, DLQ_HEADERS.kind) ?? 'unknown',
    failedAt: headerText(headers, DLQ_HEADERS.failedAt),
    attempts: Number.isInteger(attempts) ? attempts : undefined,
    error: headerText(headers, DLQ_HEADERS.message) ?? '',
    originalTopic: headerText(headers, DLQ_HEADERS.topic),
    event: envelopeOf(message.value),
    replay,
  };
}

function envelopeOf(value: Buffer | null): DeadLetterRecord['event'] {
  if (!value) return undefined;
  try {
    const json = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    if (!json || typeof json !== 'object') return undefined;
    const text = (field: unknown) => (typeof field === 'string' ? field : undefined);
    return { id: text(json.id), type: text(json.type), runId: text(json.runId) };
  } catch {
    return undefined;
  }
}

/** What a command selects; every field narrows the selection. */
export interface LetterFilter {
  kinds?: readonly string[];
  since?: Date;
  eventIds?: readonly string[];
}

export function matches(letter: DeadLetterRecord, filter: LetterFilter): boolean {
  if (filter.kinds && !filter.kinds.includes(letter.kind)) return false;
  if (filter.since && !(letter.failedAt && Date.parse(letter.failedAt) >= filter.since.getTime())) return false;
  if (filter.eventIds && !(letter.event?.id && filter.eventIds.includes(letter.event.id))) return false;
  return true;
}

export function parseKinds(values: readonly string[] | undefined): DeadLetterKind[] | undefined {
  if (!values || values.length === 0) return undefined;
  for (const value of values) {
    if (!(DEAD_LETTER_KINDS as readonly string[]).includes(value)) {
      throw new UsageError(`unknown reason ${JSON.stringify(value)}: expected one of ${DEAD_LETTER_KINDS.join(', ')}`);
    }
  }
  return values as DeadLetterKind[];
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO-8601 time, or a duration back from `now` such as 90s, 15m, 2h, 7d or 1h30m. */
export function parseSince(value: string | undefined, now = new Date()): Date | undefined {
  if (value === undefined) return undefined;
  if (/^(\d+[smhd])+$/.test(value)) {
    const ms = [...value.matchAll(/(\d+)([smhd])/g)].reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit], 0);
    return new Date(now.getTime() - ms);
  }
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) {
    throw new UsageError(`--since ${JSON.stringify(value)} is neither an ISO-8601 time nor a duration such as 15m, 2h or 7d`);
  }
  return new Date(time);
}

/** One line of `list`. */
export function describeLetter(letter: DeadLetterRecord): string {
  const { event } = letter;
  return [
    letter.ref,
    letter.failedAt ?? '-',
    letter.kind,
    event?.id ?? '-',
    event?.type ?? '-',
    event?.runId ?? '-',
    `attempts=${letter.attempts ?? '-'}`,
    letter.error.split('\n')[0] || '-',
    ...(letter.replay ? [`[${letter.replay}]`] : []),
  ].join('  ');
}
