/**
 * The built-in jobs by name, and finding a job from what the user typed: a built-in name or the
 * path of a job file of their own.
 */
import { ConfigError } from '../common/errors.js';
import type { AnyJob } from './defineJob.js';
import { loadJobFile } from './loadJobFile.js';
import { map } from './map.js';
import { png2y4m } from './png2y4m.js';
import { vpxenc } from './vpxenc.js';
import { xcenc } from './xcenc.js';

/** The built-in jobs, importable by name: `runJob(jobs.png2y4m, {...})`. */
export const jobs = { png2y4m, vpxenc, map, xcenc } as const;

/** True when `target` names a file rather than a built-in job. */
export function isJobPath(target: string): boolean {
  return target.includes('/') || /\.(m?js|ts)$/.test(target);
}

/**
 * @example await findJob('png2y4m') // jobs.png2y4m
 * @example await findJob('./myjob.ts') // the job that file exports
 */
export async function findJob(target: string): Promise<AnyJob> {
  if (isJobPath(target)) return loadJobFile(target);
  if (Object.hasOwn(jobs, target)) return jobs[target as keyof typeof jobs];
  throw new ConfigError(`unknown job '${target}' (known: ${Object.keys(jobs).join(', ')}; or the path of a job file, e.g. ./myjob.mjs)`);
}
