import { Injectable } from '@nestjs/common';
import { AxiosInstance } from 'axios';
import { HealthSettings, VaultSettings } from './health.settings';
import { createStatusClient, getStatus } from './status-request';

/** Talks to Vault's health and token APIs; tests replace it with overrideProvider(VaultClient). */
export abstract class VaultClient {
  /** Status code of `GET /v1/sys/health?standbyok=true&perfstandbyok=true` (no token). */
  abstract sysHealth(signal: AbortSignal): Promise<number>;
  /** Status code of `GET /v1/auth/token/lookup-self` with the configured token. */
  abstract lookupSelf(signal: AbortSignal): Promise<number>;
}

@Injectable()
export class HttpVaultClient extends VaultClient {
  private readonly http?: AxiosInstance;

  constructor(
    private readonly settings: VaultSettings,
    health: HealthSettings,
  ) {
    super();
    this.http = settings.addr ? createStatusClient(settings.addr, health.dependencyTimeoutMs) : undefined;
  }

  async sysHealth(signal: AbortSignal): Promise<number> {
    // Called from the root namespace: no X-Vault-Namespace header.
    return getStatus(this.client(), '/v1/sys/health?standbyok=true&perfstandbyok=true', signal);
  }

  async lookupSelf(signal: AbortSignal): Promise<number> {
    if (!this.settings.token) throw new Error('token not configured');
    return getStatus(this.client(), '/v1/auth/token/lookup-self', signal, { 'X-Vault-Token': this.settings.token });
  }

  private client(): AxiosInstance {
    if (!this.http) throw new Error('not configured');
    return this.http;
  }
}

/** Why a `sys/health` status code means Vault cannot serve us, or undefined when it can. */
export function vaultSysHealthProblem(status: number): string | undefined {
  switch (status) {
    case 200: // active
    case 429: // unsealed standby
    case 473: // performance standby
      return undefined;
    case 472:
      return 'disaster-recovery secondary (472)';
    case 474:
      return 'standby cannot reach the active node (474)';
    case 501:
      return 'not initialised (501)';
    case 503:
      return 'sealed (503)';
    case 530:
      return 'removed from the cluster (530)';
    default:
      return `unexpected health status ${status}`;
  }
}

/** Why a `lookup-self` status code means the token is unusable, or undefined when it is accepted. */
export function vaultTokenProblem(status: number): string | undefined {
  if (status === 200) return undefined;
  if (status === 403) return 'token rejected (403)';
  return `token lookup answered ${status}`;
}
