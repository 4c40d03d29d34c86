import { Injectable } from '@nestjs/common';
import { AxiosInstance } from 'axios';
import { HealthSettings, OrySettings } from './health.settings';
import { createStatusClient, getStatus } from './status-request';

/** Talks to Ory's health API; tests replace it with overrideProvider(OryClient). */
export abstract class OryClient {
  /** Status code of `GET /health/ready`. */
  abstract ready(signal: AbortSignal): Promise<number>;
}

@Injectable()
export class HttpOryClient extends OryClient {
  private readonly http?: AxiosInstance;

  constructor(settings: OrySettings, health: HealthSettings) {
    super();
    this.http = settings.baseUrl ? createStatusClient(settings.baseUrl, health.dependencyTimeoutMs) : undefined;
  }

  async ready(signal: AbortSignal): Promise<number> {
    if (!this.http) throw new Error('not configured');
    return getStatus(this.http, '/health/ready', signal);
  }
}

/** Ory is judged by status code only: its error bodies differ between versions. */
export function oryReadyProblem(status: number): string | undefined {
  return status === 200 ? undefined : `not ready (${status})`;
}
