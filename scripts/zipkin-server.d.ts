// Types for scripts/zipkin-server.js (plain CommonJS, no compile step).

export interface ZipkinHandle {
  /** `http://127.0.0.1:<port>`, the base of Zipkin's HTTP API. */
  url: string;
  port: number;
  /** Where spans are posted: the value for OTEL_EXPORTER_ZIPKIN_ENDPOINT. */
  spansEndpoint: string;
  logFile: string;
  pid: number | undefined;
  /** SIGTERM, SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

/** Checks Java 17+, downloads the executable jar once through Maven into .cache/; returns its path. */
export function ensureZipkinInstalled(): string;

/** Starts Zipkin (in-memory storage) on a free loopback port; resolves once GET /health answers UP. */
export function startZipkin(opts?: { timeoutMs?: number }): Promise<ZipkinHandle>;
