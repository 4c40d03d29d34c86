/** Vault's documented sys/health codes and the reason the service gives for each down one. */
export const VAULT_UP_CODES = [200, 429, 473];

export const VAULT_DOWN_CODES: Array<[number, string]> = [
  [472, 'disaster-recovery secondary (472)'],
  [474, 'standby cannot reach the active node (474)'],
  [501, 'not initialised (501)'],
  [503, 'sealed (503)'],
  [530, 'removed from the cluster (530)'],
  [500, 'unexpected health status 500'],
];
