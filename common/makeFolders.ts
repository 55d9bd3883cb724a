/**
 * `mkdir -p` that always ends. Node's `mkdir(path, { recursive: true })` spins forever when a
 * folder on the way exists but cannot hold children and says ENOENT for them: a dangling symlink
 * (a store on a disk not mounted), or anything under /proc. It reads ENOENT as "the parent is
 * missing", makes the parent (EEXIST), and tries the child again. Here a child that is still
 * ENOENT once its parent exists is that error, given back, and something in the way that is not a
 * folder is said to be so.
 *
 * @example await makeFolders('./xc-store/sintel-1k-png16') // resolves once the folder is there
 */
import { lstat, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function makeFolders(path: string, mode?: number): Promise<void> {
  const options = mode === undefined ? undefined : { mode };
  try {
    await mkdir(path, options);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return folderThere(path);
    if (code !== 'ENOENT' || dirname(path) === path) throw error;
  }
  await makeFolders(dirname(path), mode);
  // The parent is there now: ENOENT again is this folder's own answer.
  await mkdir(path, options).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return folderThere(path);
    throw error;
  });
}

/** Something is at `path`: fine if it is a folder (or a symlink to one), else say what it is. */
async function folderThere(path: string): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.isDirectory()) return;
  const link = (await lstat(path).catch(() => undefined))?.isSymbolicLink();
  const what = link ? 'a symlink to nothing (a disk not mounted?)' : 'not a folder';
  throw Object.assign(new Error(`${path} is ${what}`), { code: 'ENOTDIR', path });
}
