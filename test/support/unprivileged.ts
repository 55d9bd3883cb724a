/**
 * One step of a test run without privileges, so that file permissions apply even when the suite
 * runs as root, as CI does: root hands the step to a child process running as `nobody` (spawn's
 * uid/gid); anyone else is subject to permissions already and runs it as itself.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../common/packagePaths.js';

/** `nobody` on Debian and most Linux systems. */
const NOBODY = { uid: 65534, gid: 65534 };

function probe(): { spawn: Pick<SpawnSyncOptions, 'uid' | 'gid'> } | { unavailable: string } {
  if (process.getuid?.() !== 0) return { spawn: {} };
  // The child must start, and reach the package (dist/ is what such steps run).
  const dist = join(packageRoot(), 'dist');
  const check = spawnSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(dist)})`], { ...NOBODY, encoding: 'utf8', timeout: 30_000 });
  if (check.status === 0) return { spawn: NOBODY };
  const why = check.error?.message ?? (check.stderr.trim().split('\n').pop() || `exit status ${check.status}`);
  return { unavailable: `running as root, and a process as nobody (uid ${NOBODY.uid}) cannot run ${dist}: ${why}` };
}

const found = probe();

/**
 * Spawn options that run a child without privileges (`{}` when we have none to drop), or
 * undefined when we are root and cannot drop them; {@link UNPRIVILEGED_UNAVAILABLE} says why.
 *
 * @example
 * it('reports a file it may not open', ({ skip }) => {
 *   skip(UNPRIVILEGED === undefined, UNPRIVILEGED_UNAVAILABLE);
 *   spawnSync(process.execPath, [BIN, path], { ...UNPRIVILEGED });
 * });
 */
export const UNPRIVILEGED: Pick<SpawnSyncOptions, 'uid' | 'gid'> | undefined = 'spawn' in found ? found.spawn : undefined;
export const UNPRIVILEGED_UNAVAILABLE: string | undefined = 'unavailable' in found ? found.unavailable : undefined;
