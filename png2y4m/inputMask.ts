/**
 * Input selection for a mask such as `frames/%08d.png`: split it like glibc's `dirname` and XPG
 * `basename`, list the folder (as `scandir` would, dot entries included), keep the names the mask
 * filter reproduces, and sort them byte-wise (`alphasort` in the C locale). Names and folders are
 * byte strings held as latin1 JS strings, so any file name round-trips exactly.
 *
 * @example
 * splitMask('frames/%08d.png')        // { dir: 'frames', filter: '%08d.png' }
 * findInputs('frames', '%08d.png')    // ['00000001.png', '00000002.png'] or null
 */
import { readdirSync } from 'node:fs';
import { compileMaskFilter } from './maskFilter.js';

export interface SplitMask {
  dir: string;
  filter: string;
}

export function splitMask(mask: string): SplitMask {
  return { dir: dirname(mask), filter: basename(mask) };
}

/** glibc `dirname`. */
export function dirname(path: string): string {
  let lastSlash = path.lastIndexOf('/');
  if (lastSlash > 0 && lastSlash === path.length - 1) {
    let run = lastSlash;
    while (run > 0 && path[run - 1] === '/') run--;
    if (run > 0) lastSlash = path.lastIndexOf('/', run - 1);
  }
  if (lastSlash < 0) return '.';
  let run = lastSlash;
  while (run > 0 && path[run - 1] === '/') run--;
  if (run === 0) return lastSlash === 1 ? '//' : '/';
  return path.slice(0, run);
}

/** glibc `__xpg_basename` (the libgen.h one: trailing slashes are ignored). */
export function basename(path: string): string {
  if (path === '') return '.';
  let end = path.length;
  while (end > 1 && path[end - 1] === '/') end--;
  if (end === 1 && path[0] === '/') return '/';
  const trimmed = path.slice(0, end);
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Matching entry names in byte order, or null when the folder cannot be listed. */
export function findInputs(dir: string, filter: string): string[] | null {
  let entries: Buffer[];
  try {
    entries = readdirSync(Buffer.from(dir, 'latin1'), { encoding: 'buffer' });
  } catch {
    return null;
  }
  const accept = compileMaskFilter(filter);
  const names = [Buffer.from('.'), Buffer.from('..'), ...entries].filter((entry) => accept(entry.toString('latin1')));
  names.sort(Buffer.compare);
  return names.map((name) => name.toString('latin1'));
}

/** The path the reference tool opens: `<dir>/<name>`, even for `.` and `/`. */
export function inputPath(dir: string, name: string): string {
  return `${dir}/${name}`;
}
