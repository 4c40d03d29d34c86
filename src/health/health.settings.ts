import { baseUrlVar, integerVar, optionalText } from '../runtime/env-schema';
import { configOf, settingsSlice } from '../runtime/settings';

export class VaultSettings {
  readonly addr?: string;
  readonly token?: string;
}

export class OrySettings {
  readonly baseUrl?: string;
}

export class HealthSettings {
  /** Bound of one dependency check (Vault, Ory). */
  readonly dependencyTimeoutMs!: number;
  /** How long a dependency check result is reused by later probes. */
  readonly cacheTtlMs!: number;
}

/** The health module's slice of the settings: the probes' bounds, Vault and Ory. */
export const healthSettings = settingsSlice({
  env: {
    COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS: integerVar(100, 60000, 2000),
    COFFEEBUDDY_HEALTH_CACHE_TTL_MS: integerVar(0, 60000, 2000),
    VAULT_ADDR: baseUrlVar(),
    VAULT_TOKEN: optionalText(),
    ORY_BASE_URL: baseUrlVar(),
  },
  secrets: ['VAULT_TOKEN'],
  toConfig: (e) => ({
    vault: configOf(VaultSettings, { addr: e.VAULT_ADDR, token: e.VAULT_TOKEN }),
    ory: configOf(OrySettings, { baseUrl: e.ORY_BASE_URL }),
    health: configOf(HealthSettings, { dependencyTimeoutMs: e.COFFEEBUDDY_DEPENDENCY_TIMEOUT_MS, cacheTtlMs: e.COFFEEBUDDY_HEALTH_CACHE_TTL_MS }),
  }),
});
