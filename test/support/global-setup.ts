import { startBroker } from '../../scripts/kafka-broker';

/**
 * One real Kafka broker for the whole suite, unless KAFKA_BOOTSTRAP_SERVERS
 * points at one already. Tests read the address from the environment, and
 * the ports of the broker's PROXIED listener from KAFKA_PROXIED_PORT (where
 * it listens) and KAFKA_PROXY_PORT (what it advertises), for fault proxies.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.KAFKA_BOOTSTRAP_SERVERS) return;
  const broker = await startBroker();
  process.env.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap;
  process.env.KAFKA_PROXIED_PORT = String(broker.proxiedPort);
  process.env.KAFKA_PROXY_PORT = String(broker.proxyPort);
  (globalThis as { kafkaBroker?: unknown }).kafkaBroker = broker;
}
