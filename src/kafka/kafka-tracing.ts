import { Injectable } from '@nestjs/common';
import { context, propagation, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, TextMapGetter, trace } from '@opentelemetry/api';
import { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { Tracing } from '../runtime/tracing';
import { KafkaConfig } from './kafka.config';

/** Reads W3C trace context from kafkajs headers, whose values arrive as Buffers. */
const headerGetter: TextMapGetter<IHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => {
    const value = headers[key];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.map(String) : String(value);
  },
};

/**
 * Trace context through Kafka, after the OpenTelemetry messaging semantic
 * conventions: a producer span per publish whose context goes into the
 * message headers (`traceparent`, `tracestate`), and a consumer span per
 * handled message, a child of the publisher's span. Retries and dead letters
 * are events on that span. Every method is a no-op when tracing is off.
 */
@Injectable()
export class KafkaTracing {
  readonly enabled: boolean;

  constructor(
    private readonly tracing: Tracing,
    private readonly config: KafkaConfig,
  ) {
    this.enabled = tracing.enabled;
  }

  /**
   * Runs `send` in a producer span, with the span's context injected into the
   * headers of every message. `messageIds` gives the payloads' own ids (the
   * span's messaging.message.id); it is called only when tracing is on.
   */
  async publish<T>(
    topics: { topic: string; messages: Message[] }[],
    messageIds: () => readonly string[],
    send: () => Promise<T>,
  ): Promise<T> {
    if (!this.enabled) return send();
    const eventIds = messageIds();
    const names = [...new Set(topics.map(({ topic }) => topic))];
    const span = this.tracing.tracer.startSpan(`send ${names.join(',')}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': names.join(','),
        ...(eventIds.length === 1
          ? { 'messaging.message.id': eventIds[0] }
          : { 'messaging.batch.message_count': eventIds.length }),
      },
    });
    const spanContext = trace.setSpan(context.active(), span);
    for (const { messages } of topics) {
      for (const message of messages) {
        const headers: Record<string, string> = {};
        propagation.inject(spanContext, headers);
        message.headers = { ...message.headers, ...headers };
      }
    }
    try {
      return await context.with(spanContext, send);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /** Runs `handle` in a consumer span whose parent is the context the publisher put in the headers. */
  process<T>(topic: string, partition: number, message: KafkaMessage, handle: () => Promise<T>): Promise<T> {
    const parent = message.headers ? propagation.extract(ROOT_CONTEXT, message.headers, headerGetter) : ROOT_CONTEXT;
    const span = this.tracing.tracer.startSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': topic,
          'messaging.destination.partition.id': String(partition),
          'messaging.kafka.offset': Number(message.offset),
          'messaging.consumer.group.name': this.config.consumerGroup,
          ...(message.key ? { 'messaging.kafka.message.key': message.key.toString() } : {}),
        },
      },
      parent,
    );
    return context.with(trace.setSpan(parent, span), async () => {
      try {
        return await handle();
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** The event id, once the message decoded, on the span of the message being handled. */
  identified(eventId: string): void {
    if (this.enabled) trace.getActiveSpan()?.setAttribute('messaging.message.id', eventId);
  }

  /** A handler attempt failed and will be retried. */
  retried(error: unknown, attempt: number, retryInMs: number): void {
    if (!this.enabled) return;
    trace.getActiveSpan()?.addEvent('retry', { attempt, 'retry.delay_ms': retryInMs, ...exceptionAttributes(error) });
  }

  /** The message went to the dead-letter topic: an event, and the span ends in error. */
  deadLettered(kind: string, error: string, attempts: number): void {
    const span = this.enabled ? trace.getActiveSpan() : undefined;
    if (!span) return;
    span.addEvent('dead_letter', { 'dead_letter.reason': kind, attempts, 'exception.message': error });
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${kind}: ${error}` });
  }
}

function exceptionAttributes(error: unknown): Record<string, string> {
  return error instanceof Error
    ? { 'exception.type': error.name, 'exception.message': error.message, ...(error.stack ? { 'exception.stacktrace': error.stack } : {}) }
    : { 'exception.message': String(error) };
}

function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
