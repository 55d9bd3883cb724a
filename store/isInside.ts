/**
 * Whether a path lies in a folder, by its text: the one containment test behind the local store's
 * keys and the worker's transfer files. Callers resolve paths (and symlinks) first.
 */
import { sep } from 'node:path';

/**
 * True when the absolute `path` is `dir` itself or below it.
 *
 * @example isInside('/srv/store/a/b.png', '/srv/store') // true
 * @example isInside('/srv/store2/x', '/srv/store')      // false
 */
export function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}
