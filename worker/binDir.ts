/**
 * Where the worker finds our own tools (`png2y4m`): the package's `bin/` folder, put first on the
 * PATH of every `run:` so a system binary of the same name never wins. A Lambda bundle lays files
 * out differently, so the folder can be named explicitly with `XC_ORCH_BIN_DIR`.
 *
 * The package ships its tools as `bin/NAME.js` (npm links them as `NAME`), and a PATH lookup of
 * `png2y4m` does not find `png2y4m.js`; so the worker writes tiny `NAME` shims into a folder of
 * its own temp dir and puts that folder first.
 */
import { chmod, readdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { packageBinDir } from '../common/packagePaths.js';
import { shellQuote } from './shellQuote.js';

/** Environment variable that overrides the folder found next to the code. */
export const BIN_DIR_ENV = 'XC_ORCH_BIN_DIR';

/**
 * The folder holding `xc-orch.js` and `png2y4m.js`: `XC_ORCH_BIN_DIR` if set, else the package's
 * `bin/` (found from the sources and from `dist/` alike), else undefined.
 *
 * @example findBinDir() // '/home/me/xc-orch/bin'
 */
export function findBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env[BIN_DIR_ENV];
  if (override) return override;
  try {
    return packageBinDir();
  } catch {
    // No package root above us (an unusual bundle): run: keeps the PATH it was given.
    return undefined;
  }
}

/**
 * Write an executable `NAME` shim into `shimDir` for every `NAME.js` in `binDir` that has no
 * extensionless sibling there; each runs the script with this very Node binary (which need not be
 * on PATH). Returns the names shimmed.
 *
 * @example await writeToolShims('/pkg/bin', '/tmp/xc-worker-1/.xc-bin') // ['png2y4m', 'xc-orch']
 */
export async function writeToolShims(binDir: string, shimDir: string, nodePath: string = process.execPath): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(binDir);
  } catch {
    return [];
  }
  const names = entries.filter((entry) => entry.endsWith('.js') && !entries.includes(entry.slice(0, -3))).map((entry) => entry.slice(0, -3));
  for (const name of names) {
    const shim = join(shimDir, name);
    await writeFile(shim, `#!/bin/sh\nexec ${shellQuote(nodePath)} ${shellQuote(join(binDir, `${name}.js`))} "$@"\n`);
    await chmod(shim, 0o755);
  }
  return names;
}

/**
 * `PATH` with `folders` (in order) in front, and not repeated further down.
 *
 * @example pathWithBin(['/pkg/bin'], '/usr/bin:/bin') // '/pkg/bin:/usr/bin:/bin'
 */
export function pathWithBin(folders: readonly string[], path: string | undefined): string {
  const first = [...folders];
  const rest = (path ?? '').split(delimiter).filter((part) => part !== '' && !first.includes(part));
  return [...first, ...rest].join(delimiter);
}
