import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './cleanup';

/**
 * A fresh directory of this user's under the temporary directory, removed
 * when the test (or, made in a beforeAll, the file) ends. Files in it cannot
 * clash with those of another test file, another run or another user, as
 * fixed names directly in a shared /tmp can.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(`directory ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
