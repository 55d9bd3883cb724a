/**
 * mu's coordinators call the function's tools as `./xc-enc`, `./vpxenc`: mu's worker ran commands
 * in the function's own folder. Ours runs them in its temp dir, so for mu's payload the function's
 * executables are linked into it and `./NAME` finds them there.
 */
import { readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Symlink every entry of `folders` into `dir` under its own name; an earlier folder wins a name
 * (the tool shims before the raw `bin/`), and names already in `dir` are left alone. Returns the
 * names linked; an unreadable folder is skipped.
 *
 * @example await linkTools(['/var/task/bin'], '/tmp/xc-worker-1') // ['xc-dump', 'xc-enc', 'vpxenc']
 */
export async function linkTools(folders: readonly string[], dir: string): Promise<string[]> {
  const taken = new Set(await readdir(dir));
  const linked: string[] = [];
  for (const folder of folders) {
    let entries: string[];
    try {
      entries = await readdir(folder);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (taken.has(name)) continue;
      taken.add(name);
      await symlink(join(folder, name), join(dir, name));
      linked.push(name);
    }
  }
  return linked;
}
