import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import { Registry } from 'prom-client';

/** Serves this application's own registry rather than prom-client's global one. */
@Controller()
export class MetricsController extends PrometheusController {
  constructor(private readonly registry: Registry) {
    super();
  }

  @Get()
  override async index(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    reply.header('Content-Type', this.registry.contentType);
    return this.registry.metrics();
  }
}
