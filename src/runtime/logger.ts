import { Inject, Injectable, LoggerService, Optional } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import pino, { DestinationStream, Logger } from 'pino';
import { LogSettings } from './settings';
import { TracingSettings } from './tracing.config';

/** Where log lines go: stdout in production; tests override it to read the lines back. */
export const LOG_DESTINATION = Symbol('LOG_DESTINATION');

/**
 * Field paths whose values are replaced before a line is written. Explicit
 * paths, no `*` wildcards: a wildcard path made every log line about four
 * times slower (measured with bench/micro/hot-path.ts), and the service logs
 * one line per event.
 */
export const REDACTED_PATHS = [
  'token',
  'password',
  'authorization',
  'sasl',
  'headers.authorization',
  'headers["x-vault-token"]',
  'kafkajs.sasl',
  'kafkajs.password',
  'config.headers',
];

let cachedMs = 0;
let cachedTime = '';

/** pino's isoTime, formatted once per millisecond rather than once per line. */
function isoTimeCachedPerMs(): string {
  const now = Date.now();
  if (now !== cachedMs) {
    cachedMs = now;
    cachedTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return cachedTime;
}

/** Largest write(2) of log lines to stdout. */
const WRITE_BYTES = 64 * 1024;

/**
 * pino's asynchronous stdout destination, which can also say when every line
 * given to it has left the process: `flush(done)` calls back once the write in
 * progress, and what queued behind it, reached the file descriptor (sonic-boom's
 * own flush calls back at once when nothing is held back by minLength).
 */
class StdoutDestination implements DestinationStream {
  // Asynchronous writes keep logging off the hot path; pino flushes them at exit.
  // In buffer mode sonic-boom keeps each chunk's length as a number: a line
  // costs its encoding, not a re-measure of the pending chunk (as in its
  // string mode), so writes can be large. One write(2) of up to WRITE_BYTES
  // per round trip to libuv's thread pool keeps up with a busy consumer,
  // where 4 KiB writes fell behind it (docs/benchmarks.md).
  private readonly stream = pino.destination({ dest: 1, sync: false, contentMode: 'buffer', maxWrite: WRITE_BYTES });
  /** A line was given to the stream and its 'drain' (everything written) has not come yet. */
  private writing = false;

  constructor() {
    this.stream.on('drain', () => (this.writing = false));
  }

  write(line: string): void {
    this.writing = true;
    // sonic-boom's buffer mode takes Buffers; its types know only strings.
    this.stream.write(Buffer.from(line) as unknown as string);
  }

  flush(done: () => void): void {
    if (this.writing) this.stream.once('drain', () => done());
    else done();
  }
}

/**
 * The ids of the active span, so a log line can be found from its trace and
 * the other way round. A new object each time: pino merges the line's fields into it.
 */
function traceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** Written to stderr when pretty logs are asked for where pino-pretty is missing (the production image). */
export const PRETTY_PRINTER_MISSING =
  'pretty logs need pino-pretty, a development dependency that is not installed here (npm ci --omit=dev leaves it out): writing JSON lines instead';

function prettyPrinterInstalled(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createDestination(settings: LogSettings): DestinationStream {
  if (settings.format === 'pretty') {
    if (prettyPrinterInstalled()) {
      return pino.transport({ target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } });
    }
    process.stderr.write(`${PRETTY_PRINTER_MISSING}\n`);
  }
  return new StdoutDestination();
}

/**
 * The one logger of the process: JSON lines through pino, secrets redacted.
 * It also serves as Nest's logger, so framework lines share the format.
 */
@Injectable()
export class AppLogger implements LoggerService {
  readonly pino: Logger;

  constructor(
    settings: LogSettings,
    @Inject(LOG_DESTINATION) destination: DestinationStream,
    @Optional() tracing?: TracingSettings,
  ) {
    this.pino = pino(
      {
        // Only when tracing is on: without it pino calls no mixin at all.
        ...(tracing?.enabled ? { mixin: traceIds } : {}),
        level: settings.level,
        base: { service: 'coffeebuddy-runtime' },
        redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
        timestamp: isoTimeCachedPerMs,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    );
  }

  /** A logger for one part of the code, for structured lines: `log.info({ fields }, 'message')`. */
  child(context: string): Logger {
    return this.pino.child({ context });
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  flush(): void {
    this.pino.flush();
  }

  /**
   * Resolves once every line logged so far has left the process: a line in
   * the stdout pipe survives a SIGKILL, one in the process's buffer does not.
   */
  written(): Promise<void> {
    return new Promise((resolve) => this.pino.flush(() => resolve()));
  }

  // Nest passes (message, context) or (message, stack, context) for errors.
  private write(level: pino.Level, message: unknown, params: unknown[]): void {
    const context = typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const stack = typeof params[0] === 'string' ? params[0] : undefined;
    const fields: Record<string, unknown> = { context };
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (message && typeof message === 'object') {
      this.pino[level]({ ...fields, ...(message as object) });
    } else {
      this.pino[level](fields, String(message));
    }
  }
}
