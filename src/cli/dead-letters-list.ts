import { CliIo } from './cli-io';
import { DeadLetterRecord, describeLetter, LetterFilter, matches } from './dead-letter';
import { DeadLetterStore } from './dead-letter-store';

export interface ListOptions {
  filter: LetterFilter;
  /** Show only the most recent N matching letters (the summary still counts them all). */
  limit?: number;
  json: boolean;
}

/** `dead-letters list`: one line per letter in dead-letter order, then a count per reason. */
export async function listDeadLetters(store: DeadLetterStore, options: ListOptions, io: CliIo): Promise<number> {
  const selected = (await store.letters()).filter((letter) => matches(letter, options.filter));
  const shown = options.limit === undefined ? selected : selected.slice(Math.max(0, selected.length - options.limit));
  const summary = countByReason(selected);
  if (options.json) {
    io.out(JSON.stringify({ topic: store.dlqTopic, letters: shown.map(toJson), total: selected.length, byReason: summary }, null, 2));
    return 0;
  }
  for (const letter of shown) io.out(describeLetter(letter));
  const counts = Object.entries(summary).map(([kind, count]) => `${kind} ${count}`);
  const showing = shown.length < selected.length ? ` (showing the last ${shown.length})` : '';
  io.out(`${selected.length} dead letter(s) in ${store.dlqTopic}${showing}${counts.length ? `: ${counts.join(', ')}` : ''}`);
  return 0;
}

function countByReason(letters: readonly DeadLetterRecord[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const { kind } of letters) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

function toJson(letter: DeadLetterRecord) {
  return {
    ref: letter.ref,
    partition: letter.partition,
    offset: letter.offset,
    failedAt: letter.failedAt,
    reason: letter.kind,
    eventId: letter.event?.id,
    type: letter.event?.type,
    runId: letter.event?.runId,
    attempts: letter.attempts,
    error: letter.error,
    originalTopic: letter.originalTopic,
    replay: letter.replay ?? null,
  };
}
