import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { KafkaModule } from '../kafka/kafka.module';
import { DependencyCheck } from './dependency-check';
import { HealthController } from './health.controller';
import { KafkaHealthIndicator } from './kafka.health';
import { LifecycleHealthIndicator } from './lifecycle.health';
import { HttpOryClient, OryClient } from './ory.client';
import { OryHealthIndicator } from './ory.health';
import { HttpVaultClient, VaultClient } from './vault.client';
import { VaultHealthIndicator } from './vault.health';

@Module({
  // Dependency state changes are logged once by DependencyCheck, not on every failed probe.
  imports: [TerminusModule.forRoot({ logger: false }), KafkaModule],
  controllers: [HealthController],
  providers: [
    { provide: VaultClient, useClass: HttpVaultClient },
    { provide: OryClient, useClass: HttpOryClient },
    DependencyCheck,
    LifecycleHealthIndicator,
    VaultHealthIndicator,
    OryHealthIndicator,
    KafkaHealthIndicator,
  ],
})
export class HealthModule {}
