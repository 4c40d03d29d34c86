import type { TopicDefinition } from '../kafka/topics';

/** A run's whole life, keyed by runId. Consumed by this service. */
export const RUN_EVENTS_TOPIC = 'run.events';
/** Reminders due for open runs, published for the Slack notifier. */
export const RUN_REMINDERS_TOPIC = 'run.reminders';

/** The topics of the run-event feature, registered with the TopicRegistry by RunEventsModule. */
export const RUN_EVENT_TOPICS: readonly TopicDefinition[] = [
  { slug: RUN_EVENTS_TOPIC, consumed: true },
  { slug: RUN_REMINDERS_TOPIC, consumed: false },
];
