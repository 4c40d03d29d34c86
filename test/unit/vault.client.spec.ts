import { vaultSysHealthProblem, vaultTokenProblem } from '../../src/health/vault.client';
import { oryReadyProblem } from '../../src/health/ory.client';
import { VAULT_DOWN_CODES, VAULT_UP_CODES } from '../support/vault-codes';

describe('Vault status codes', () => {
  it.each(VAULT_UP_CODES)('sys/health %i means Vault can serve', (status) => {
    expect(vaultSysHealthProblem(status)).toBeUndefined();
  });

  it.each([...VAULT_DOWN_CODES, [400, 'unexpected health status 400'], [204, 'unexpected health status 204']] as Array<[number, string]>)('sys/health %i is down: %s', (status, reason) => {
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
