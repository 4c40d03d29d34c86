/** A topic a feature owns: created at start when missing; a consumed one has a dead-letter companion. */
export interface TopicDefinition {
  slug: string;
  consumed: boolean;
}

/**
 * Topic names: `{prefix}.{slug}`; each consumed topic has a dead-letter
 * companion `{topic}.dlq`. The registry knows no topic of its own: each
 * feature registers the topics it owns (see run-events/run-event-topics.ts).
 */
export class TopicRegistry {
  private readonly definitions: TopicDefinition[] = [];

  constructor(readonly prefix: string) {}

  resolve(slug: string): string {
    return `${this.prefix}.${slug}`;
  }

  /** Adds a feature's topics to those created at start. */
  register(definitions: readonly TopicDefinition[]): void {
    this.definitions.push(...definitions);
  }

  /** Every topic the service creates at start when missing; a dead-letter topic names its source. */
  ownedTopics(): OwnedTopic[] {
    return this.definitions.flatMap(({ slug, consumed }) => {
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

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}
