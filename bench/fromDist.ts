/**
 * The built package as the commands run it: benches that time `bin/` load the modules they need
 * from `dist/` (not the TypeScript sources esbuild bundles into the bench itself), so that what
 * they time in process is the same code, and threads find their entries there.
 * Benches run from the package root (`npm run bench:*`).
 *
 * @example const { seedClip } = await fromDist<typeof import('../cli/demo.js')>('cli/demo.js');
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = process.cwd();

export const fromDist = <T>(module: string): Promise<T> => import(pathToFileURL(join(ROOT, 'dist', module)).href) as Promise<T>;
