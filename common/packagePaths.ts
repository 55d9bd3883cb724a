/**
 * Where the package's own files are, resolved from this module's location so it works from the
 * TypeScript sources (vitest) and from the compiled `dist/` alike.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest ancestor of this module holding package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error(`cannot find the xc-orch package root above ${fileURLToPath(import.meta.url)}`);
}

/** The folder with the `xc-orch` and `png2y4m` executables. */
export function packageBinDir(): string {
  return join(packageRoot(), 'bin');
}
