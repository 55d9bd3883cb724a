/**
 * What every esbuild bundle the package makes at run time shares (a user's job file, the Lambda
 * worker and its tools): one ESM file for the Node the package supports, kept in memory, with
 * esbuild's own logging off because each caller reports the failure in its own terms.
 * Types only here: loading esbuild itself stays with the callers (a job file loads it lazily).
 */
import type { BuildOptions } from 'esbuild';

/** @example await build({ ...NODE_BUNDLE, entryPoints: ['job.ts'] }) */
export const NODE_BUNDLE = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The oldest Node in package.json's engines.
  target: 'node20',
  write: false,
  logLevel: 'silent',
} as const satisfies BuildOptions;
