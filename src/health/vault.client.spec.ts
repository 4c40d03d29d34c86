import { vaultSysHealthProblem, vaultTokenProblem } from './vault.client';
import { oryReadyProblem } from './ory.client';

describe('Vault status codes', () => {
  it.each([200, 429, 473])('sys/health %i means Vault can serve', (status) => {
    expect(vaultSysHealthProblem(status)).toBeUndefined();
  });

  it.each([
    [472, 'disaster-recovery secondary (472)'],
    [474, 'standby cannot reach the active node (474)'],
    [501, 'not initialised (501)'],
    [503, 'sealed (503)'],
    [530, 'removed from the cluster (530)'],
    [400, 'unexpected health status 400'],
    [500, 'unexpected health status 500'],
    [204, 'unexpected health status 204'],
  ])('sys/health %i is down: %s', (status, reason) => {
    expect(vaultSysHealthProblem(status)).toBe(reason);
  });

  it('accepts the token on 200 and names a 403 as rejected', () => {
    expect(vaultTokenProblem(200)).toBeUndefined();
    expect(vaultTokenProblem(403)).toBe('token rejected (403)');
    expect(vaultTokenProblem(500)).toBe('token lookup answered 500');
  });
});

describe('Ory status codes', () => {
  it('is ready on 200 only', () => {
    expect(oryReadyProblem(200)).toBeUndefined();
    expect(oryReadyProblem(503)).toBe('not ready (503)');
    expect(oryReadyProblem(301)).toBe('not ready (301)');
  });
});
