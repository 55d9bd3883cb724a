/**
 * Temporary folders for tests: each is made under the OS temp dir and removed, with everything in
 * it, after the test (or the file) that made it, whether it passed or not.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';

/**
 * Register the cleanup once per file (or describe block) and get the function that makes folders:
 * `test` scope removes them after each test, `file` scope after the last one.
 *
 * @example
 * const tempDir = useTempDirs();
 * beforeEach(async () => (tmpDir = await tempDir('xc-test-worker-')));
 */
export function useTempDirs(scope: 'test' | 'file' = 'test'): (prefix?: string) => Promise<string> {
  const made: string[] = [];
  (scope === 'test' ? afterEach : afterAll)(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async (prefix = 'xc-test-') => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
