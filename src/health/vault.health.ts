import { Injectable } from '@nestjs/common';
import { DependencyCheck } from './dependency-check';
import { VaultClient, vaultSysHealthProblem, vaultTokenProblem } from './vault.client';

/** Vault is up when its health endpoint says it can serve and our token is accepted. */
@Injectable()
export class VaultHealthIndicator {
  constructor(
    private readonly client: VaultClient,
    private readonly check: DependencyCheck,
  ) {}

  isHealthy() {
    return this.check.run('vault', async (signal) => {
      const problem = vaultSysHealthProblem(await this.client.sysHealth(signal));
      if (problem) throw new Error(problem);
      const tokenProblem = vaultTokenProblem(await this.client.lookupSelf(signal));
      if (tokenProblem) throw new Error(tokenProblem);
    });
  }
}
