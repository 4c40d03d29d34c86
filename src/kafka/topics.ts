/**
 * The one place that defines the topics this service owns. Names are
 * `{prefix}.{slug}`; each consumed topic has a dead-letter companion
 * `{topic}.dlq`.
 */
export class TopicRegistry {
  constructor(readonly prefix: string) {}

  resolve(slug: string): string {
    return `${this.prefix}.${slug}`;
  }

  /** Every topic the service creates at start when missing; a dead-letter topic names its source. */
  ownedTopics(): OwnedTopic[] {
    return TOPICS.flatMap(({ slug, consumed }) => {
      const name = this.resolve(slug);
      return consumed ? [{ name }, { name: deadLetterTopic(name), deadLetterOf: name }] : [{ name }];
    });
  }
}

export interface OwnedTopic {
  name: string;
  /** Set on a dead-letter topic: the topic whose letters it takes. */
  deadLetterOf?: string;
}

/** A run's whole life, keyed by runId. Consumed by this service. */
export const RUN_EVENTS_TOPIC = 'run.events';
/** Reminders due for open runs, published for the Slack notifier. */
export const RUN_REMINDERS_TOPIC = 'run.reminders';

export const TOPICS: ReadonlyArray<{ slug: string; consumed: boolean }> = [
  { slug: RUN_EVENTS_TOPIC, consumed: true },
  { slug: RUN_REMINDERS_TOPIC, consumed: false },
];

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}
