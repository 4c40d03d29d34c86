import axios, { AxiosInstance, isAxiosError } from 'axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * An HTTP client for health APIs: every status code is an answer (never an
 * exception), no redirects are followed, and each request is bounded by the
 * timeout and by the caller's abort signal.
 */
export function createStatusClient(baseURL: string, timeoutMs: number): AxiosInstance {
  return axios.create({
    baseURL,
    timeout: timeoutMs,
    maxRedirects: 0,
    validateStatus: () => true,
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }),
  });
}

/** Returns the status code of `GET path`; network failures become an Error with a short reason. */
export async function getStatus(
  client: AxiosInstance,
  path: string,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<number> {
  try {
    const response = await client.get(path, { signal, headers, responseType: 'text' });
    return response.status;
  } catch (error) {
    throw new Error(describeRequestError(error));
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'timed out',
  ECONNABORTED: 'timed out',
  ERR_CANCELED: 'timed out',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
};

export function describeRequestError(error: unknown): string {
  if (isAxiosError(error)) {
    return REASONS[error.code ?? ''] ?? `request failed (${error.code ?? error.message})`;
  }
  return error instanceof Error ? error.message : String(error);
}
