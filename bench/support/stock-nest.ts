import 'reflect-metadata';
import { Controller, INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import { logLevel } from 'kafkajs';

export interface StockNestOptions {
  bootstrap: string;
  topic: string;
  groupId: string;
  partitions: number;
  sessionTimeoutMs: number;
  heartbeatMs: number;
}

/**
 * Nest's own Kafka transport as an application would use it out of the box:
 * `NestFactory.createMicroservice` with `Transport.KAFKA` and one
 * `@EventPattern` handler, `partitionsConsumedConcurrently` set to the
 * partitions. Nest parses each value itself and calls the handler once per
 * message (kafkajs eachMessage), awaiting what it returns.
 */
export async function startStockNest(options: StockNestOptions, handle: () => unknown): Promise<INestMicroservice> {
  @Controller()
  class HandlerController {
    @EventPattern(options.topic)
    handle(@Payload() _event: unknown): unknown {
      return handle();
    }
  }
  @Module({ controllers: [HandlerController] })
  class StockModule {}
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(StockModule, {
    transport: Transport.KAFKA,
    options: {
      client: { brokers: options.bootstrap.split(','), clientId: 'bench-nest', logLevel: logLevel.WARN },
      // Stock ServerKafka appends "-server" to this group id.
      consumer: { groupId: options.groupId, sessionTimeout: options.sessionTimeoutMs, heartbeatInterval: options.heartbeatMs },
      subscribe: { fromBeginning: true },
      run: { partitionsConsumedConcurrently: options.partitions },
    },
    logger: ['error', 'warn'],
  });
  await app.listen();
  return app;
}
