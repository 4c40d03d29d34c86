import { startBroker } from '../../scripts/kafka-broker';

/**
 * One real Kafka broker for the whole suite, unless KAFKA_BOOTSTRAP_SERVERS
 * points at one already. Tests read the address from the environment.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.KAFKA_BOOTSTRAP_SERVERS) return;
  const broker = await startBroker();
  process.env.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap;
  (globalThis as { kafkaBroker?: unknown }).kafkaBroker = broker;
}
