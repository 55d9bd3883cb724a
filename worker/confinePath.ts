/**
 * Where `retrieve:` and `upload:` may write and read on the worker's disk: inside the worker's
 * own temp dir, unless the event says `files_outside_tmpdir: 1`. `run:` is a shell and can touch
 * whatever the worker's user can, so this is no sandbox; it keeps the file transfers, which name
 * paths the coordinator chose, from landing on (or reading) anything else by accident or by
 * `..`, an absolute name or a symlink.
 */
import { realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isInside } from '../store/isInside.js';

/**
 * Resolve when the absolute `path` is inside `tmpDir`, symlinks followed (its folder for a file
 * still to be written, the file itself when it exists); otherwise reject with one line saying so.
 *
 * @example await confinePath('/tmp/xc-worker-1', '/tmp/xc-worker-1/00000001.png') // ok
 * @example await confinePath('/tmp/xc-worker-1', '/etc/passwd') // rejects: outside the worker's temp dir
 */
export async function confinePath(tmpDir: string, path: string): Promise<void> {
  const outside = () => new Error(`${path} is outside the worker's temp dir (the event's files_outside_tmpdir: 1 allows it)`);
  if (!isInside(path, tmpDir)) throw outside();
  // A folder that does not exist yet holds no symlink: the transfer itself will say it is missing.
  const real = await realpath(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    return realpath(dirname(path)).catch(() => undefined);
  });
  if (real !== undefined && !isInside(real, await realpath(tmpDir))) throw outside();
}
