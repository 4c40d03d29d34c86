// Types for scripts/kafka-broker.js (plain CommonJS, no compile step).

export interface StartBrokerOptions {
  /** Kafka release, e.g. `3.9.2`. Default: KAFKA_VERSION, else DEFAULT_KAFKA_VERSION. */
  version?: string;
  /** Data directory (server.properties, log segments, broker.log, broker.json). Default: a new temp dir. */
  dataDir?: string;
  /** PLAINTEXT port on 127.0.0.1. Default: the port of an earlier run on dataDir if free, else a free port. */
  port?: number;
  /** CONTROLLER port on 127.0.0.1. Default: as for port. */
  controllerPort?: number;
  /** File that receives the broker's stdout and stderr. Default: `<dataDir>/broker.log`. */
  logFile?: string;
  /** How long start and restart wait for the broker to answer. Default 60000. */
  timeoutMs?: number;
  /** Leave the broker running after this process exits (the CLI's `start`). Default false: it dies with this process. */
  detached?: boolean;
}

/** Contents of `<dataDir>/broker.json`, enough for another process to use or stop the broker. */
export interface BrokerInfo {
  /** `127.0.0.1:<port>`, the value for KAFKA_BOOTSTRAP_SERVERS. */
  bootstrap: string;
  port: number;
  controllerPort: number;
  /** Port of the PROXIED listener, which advertises `proxyPort`: a fault proxy on proxyPort forwards here. */
  proxiedPort: number;
  /** Advertised by the PROXIED listener; nothing listens there until a test starts a proxy on it. */
  proxyPort: number;
  dataDir: string;
  /** Process id of the java process; changes on restart(). */
  pid: number;
}

export interface BrokerHandle extends BrokerInfo {
  /** The Kafka release running. */
  version: string;
  logFile: string;
  /** SIGTERM (controlled shutdown), wait for exit; SIGKILL after timeoutMs (default 15000). No-op when not running. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL, then wait for exit. No-op when not running. */
  kill(): Promise<void>;
  /** Start again on the same dataDir and ports (stopping first if running), and wait until ready. */
  restart(): Promise<void>;
}

/** Result of kafkajs `admin.describeCluster()`. */
export interface ClusterDescription {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  controller: number | null;
  clusterId: string;
}

/** The Kafka release run when none is asked for and KAFKA_VERSION is unset: `4.4.0`. */
export const DEFAULT_KAFKA_VERSION: string;

/** The release to run: `version`, else KAFKA_VERSION, else DEFAULT_KAFKA_VERSION; throws unless it looks like `x.y.z`. */
export function kafkaVersion(version?: string): string;

/**
 * Checks Java 17+ (and Maven when a download is needed), downloads the jars of
 * the release (as for kafkaVersion) once into `.cache/kafka-<version>/lib`; returns that dir.
 */
export function ensureKafkaInstalled(version?: string): Promise<string>;

/** Starts a single-node KRaft broker on 127.0.0.1 and resolves once it answers describeCluster(). */
export function startBroker(opts?: StartBrokerOptions): Promise<BrokerHandle>;

/** Polls a TCP connect, then kafkajs describeCluster(), until it succeeds; rejects after timeoutMs (default 60000) or on abort. */
export function waitForBroker(
  bootstrap: string,
  timeoutMs?: number,
  opts?: { signal?: AbortSignal },
): Promise<ClusterDescription>;

/** Stops a broker started by another process: SIGTERM, SIGKILL after timeoutMs (default 15000). No-op if pid is not a live broker. */
export function stopBrokerByPid(pid: number, timeoutMs?: number): Promise<void>;

/** Reads `<dataDir>/broker.json`; null when missing. */
export function readBrokerInfo(dataDir: string): BrokerInfo | null;
