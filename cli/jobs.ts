/**
 * `xc-orch jobs`: the built-in jobs, one line each (name and what it does).
 */
import { ConfigError } from '../common/errors.js';
import { jobs } from '../jobs/registry.js';
import { reportError } from './args.js';

/** `name  description`, one line per built-in job. */
export function listJobs(): string {
  const width = Math.max(...Object.keys(jobs).map((name) => name.length));
  return Object.values(jobs)
    .map((job) => `${job.name.padEnd(width)}  ${job.description}`)
    .join('\n');
}

export async function run(args: string[]): Promise<number> {
  if (args[0] === '-h' || args[0] === '--help') {
    process.stdout.write('Usage: xc-orch jobs\n\nLists the built-in jobs. `xc-orch run JOB --help` shows the options of one;\nJOB may also be the path of a job file of your own (.mjs, .js or .ts).\n');
    return 0;
  }
  if (args.length > 0) return reportError('jobs', new ConfigError(`unexpected argument '${args[0]}'`));
  process.stdout.write(`${listJobs()}\n`);
  return 0;
}
