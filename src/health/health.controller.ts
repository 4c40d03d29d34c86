import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { KafkaHealthIndicator } from './kafka.health';
import { LifecycleHealthIndicator } from './lifecycle.health';
import { OryHealthIndicator } from './ory.health';
import { VaultHealthIndicator } from './vault.health';

const ALIVE = Object.freeze({
  status: 'ok',
  info: { process: { status: 'up' } },
  error: {},
  details: { process: { status: 'up' } },
});

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly lifecycle: LifecycleHealthIndicator,
    private readonly vault: VaultHealthIndicator,
    private readonly ory: OryHealthIndicator,
    private readonly kafka: KafkaHealthIndicator,
  ) {}

  /**
   * Calls no dependency: a Vault or Ory outage must never restart the pods.
   * The healthy answer is a constant (Terminus' body for one indicator up):
   * kubelet calls this often and it should cost little (docs/benchmarks.md).
   */
  @Get('live')
  @HealthCheck()
  live() {
    if (this.lifecycle.healthy) return ALIVE;
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
