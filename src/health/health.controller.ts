import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { KafkaHealthIndicator } from './kafka.health';
import { LifecycleHealthIndicator } from './lifecycle.health';
import { OryHealthIndicator } from './ory.health';
import { VaultHealthIndicator } from './vault.health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly lifecycle: LifecycleHealthIndicator,
    private readonly vault: VaultHealthIndicator,
    private readonly ory: OryHealthIndicator,
    private readonly kafka: KafkaHealthIndicator,
  ) {}

  /** Calls no dependency: a Vault or Ory outage must never restart the pods. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.lifecycle.alive()]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.lifecycle.notDraining(),
      () => this.vault.isHealthy(),
      () => this.ory.isHealthy(),
      () => this.kafka.isHealthy(),
    ]);
  }
}
