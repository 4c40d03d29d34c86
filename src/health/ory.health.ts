import { Injectable } from '@nestjs/common';
import { DependencyCheck } from './dependency-check';
import { OryClient, oryReadyProblem } from './ory.client';

@Injectable()
export class OryHealthIndicator {
  constructor(
    private readonly client: OryClient,
    private readonly check: DependencyCheck,
  ) {}

  isHealthy() {
    return this.check.run('ory', async (signal) => {
      const problem = oryReadyProblem(await this.client.ready(signal));
      if (problem) throw new Error(problem);
    });
  }
}
