import { connect, createServer, Server, Socket } from 'node:net';
import { waitFor } from './wait';

/** Kafka API keys a proxy can single out (see the Kafka protocol guide). */
export const KafkaApi = { produce: 0, metadata: 3, initProducerId: 22 } as const;

/**
 * How long a file waits for the port of the broker's PROXIED listener while a
 * test of another file, run in parallel, holds it with a proxy of its own:
 * more than the longest such test takes on a loaded machine.
 */
export const PROXY_PORT_WAIT_MS = 60_000;

type Mode = { kind: 'pass' } | { kind: 'drop'; apiKeys?: ReadonlySet<number> } | { kind: 'delay'; ms: number } | { kind: 'refuse' };

/**
 * A loopback TCP proxy between Kafka clients and a broker listener, that
 * injects network faults. It reads Kafka's size-prefixed frames, so it can
 * drop whole answers (all, or those to chosen request kinds) while still
 * forwarding every request: the broker does the work and the client never
 * hears of it, as when an acknowledgement is lost.
 */
export class FaultProxy {
  /** Broker answers swallowed so far. */
  droppedResponses = 0;
  private mode: Mode = { kind: 'pass' };
  private readonly links = new Set<Link>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /**
   * A proxy in front of the suite's broker: it listens on the port the
   * broker's PROXIED listener advertises and forwards to that listener, so
   * clients that bootstrap at `127.0.0.1:${proxy.port}` stay on the proxy.
   * There is one such port for the suite: while a test of another file holds
   * it, this waits for it to be free (the port is the lock).
   */
  static forSuiteBroker(): Promise<FaultProxy> {
    const { KAFKA_PROXY_PORT: port, KAFKA_PROXIED_PORT: target } = process.env;
    if (!port || !target) {
      throw new Error('KAFKA_PROXY_PORT and KAFKA_PROXIED_PORT are not set: the global setup sets them for the broker it starts');
    }
    return waitFor(
      () => FaultProxy.start(Number(port), Number(target)),
      `port ${port} to be free for a fault proxy (another test file's proxy holds it)`,
      PROXY_PORT_WAIT_MS,
    );
  }

  /** Listens on 127.0.0.1:`port` and forwards each connection to 127.0.0.1:`targetPort`. */
  static async start(port: number, targetPort: number): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy!.accept(client, targetPort));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, port);
    return proxy;
  }

  /** Forwards everything both ways. */
  pass(): void {
    this.mode = { kind: 'pass' };
  }

  /** Forwards requests, swallows the broker's answers: every answer, or only those to requests of `apiKeys`. */
  dropResponses(apiKeys?: readonly number[]): void {
    this.mode = { kind: 'drop', apiKeys: apiKeys && new Set(apiKeys) };
  }

  /** Holds each answer of the broker for `ms` before passing it on, keeping their order. */
  delay(ms: number): void {
    this.mode = { kind: 'delay', ms };
  }

  /**
   * Cuts every open connection and closes each new one at once, as a broker
   * that is gone, while the proxy keeps its port (another test file cannot
   * take it meanwhile). `pass()` lets connections through again.
   */
  refuseConnections(): void {
    this.mode = { kind: 'refuse' };
    this.cutConnections();
  }

  /** Cuts every open connection; new ones are accepted. */
  cutConnections(): void {
    for (const link of this.links) link.cut();
  }

  async close(): Promise<void> {
    this.cutConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.mode.kind === 'refuse') {
      client.destroy();
      return;
    }
    const link = new Link(client, connect(targetPort, '127.0.0.1'), (apiKey) => this.decide(apiKey));
    this.links.add(link);
    link.closed.then(() => this.links.delete(link));
  }

  /** What to do with one answer, judged when it arrives: undefined to drop it, else the delay in ms. */
  private decide(apiKey: number | undefined): number | undefined {
    const mode = this.mode;
    if (mode.kind === 'delay') return mode.ms;
    if (mode.kind === 'drop' && (!mode.apiKeys || (apiKey !== undefined && mode.apiKeys.has(apiKey)))) {
      this.droppedResponses += 1;
      return undefined;
    }
    return 0;
  }
}

/** One client connection and its connection to the broker. */
class Link {
  readonly closed: Promise<void>;
  /** API key of each request still waiting for its answer, by correlation id. */
  private readonly pending = new Map<number, number>();
  private requests: Buffer = Buffer.alloc(0);
  private responses: Buffer = Buffer.alloc(0);
  /** Answers go out in order, each no earlier than its due time. */
  private delivery: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly decide: (apiKey: number | undefined) => number | undefined,
  ) {
    this.closed = new Promise((resolve) => {
      client.once('close', () => resolve());
    });
    client.on('data', (chunk: Buffer) => this.onRequestBytes(chunk));
    upstream.on('data', (chunk: Buffer) => this.onResponseBytes(chunk));
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.cut());
      socket.on('close', () => this.cut());
    }
  }

  cut(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  private onRequestBytes(chunk: Buffer): void {
    this.upstream.write(chunk);
    // Request frame: int32 size, int16 api key, int16 api version, int32 correlation id, ...
    const { frames, rest } = splitFrames(Buffer.concat([this.requests, chunk]));
    this.requests = rest;
    for (const frame of frames) this.pending.set(frame.readInt32BE(8), frame.readInt16BE(4));
  }

  private onResponseBytes(chunk: Buffer): void {
    // Response frame: int32 size, int32 correlation id, ...
    const { frames, rest } = splitFrames(Buffer.concat([this.responses, chunk]));
    this.responses = rest;
    for (const frame of frames) {
      const correlationId = frame.readInt32BE(4);
      const delayMs = this.decide(this.pending.get(correlationId));
      this.pending.delete(correlationId);
      if (delayMs === undefined) continue;
      const due = Date.now() + delayMs;
      this.delivery = this.delivery.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (!this.client.destroyed) this.client.write(frame);
      });
    }
  }
}

/** Complete Kafka frames (int32 size, then that many bytes) at the head of a buffer; the rest waits for more bytes. */
function splitFrames(buffer: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let offset = 0;
  while (buffer.length - offset >= 4) {
    const end = offset + 4 + buffer.readInt32BE(offset);
    if (end > buffer.length) break;
    frames.push(buffer.subarray(offset, end));
    offset = end;
  }
  return { frames, rest: buffer.subarray(offset) };
}
