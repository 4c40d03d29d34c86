/**
 * The broker's error code name (`MESSAGE_TOO_LARGE`, `TOPIC_AUTHORIZATION_FAILED`, ...) of a kafkajs
 * error, looked up through the `cause` chain: kafkajs wraps a protocol error in
 * KafkaJSNonRetriableError or KafkaJSNumberOfRetriesExceeded. Undefined when the broker gave none.
 */
export function brokerErrorType(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}
