/**
 * `xc-orch run JOB [options]`: JOB is a built-in job or the path of a job file. A thin layer over
 * runJob: the run options' table and the job's generate the parser and `--help`; this prints the
 * live status, notes and summary, and turns Ctrl-C into a clean stop.
 */
import { ConfigError } from '../common/errors.js';
import { formatOptionHelp, parseOptionArgs, resolveOptions, type OptionTable } from '../common/optionTable.js';
import type { AnyJob } from '../jobs/defineJob.js';
import { findJob, jobs } from '../jobs/registry.js';
import { compileRunOptions, RUN_OPTIONS, type CompiledRunOptions, type RunOptions } from '../runtime/coordinator/runOptions.js';
import { executeJob } from '../runtime/coordinator/runJob.js';
import type { JobSummary } from '../runtime/coordinator/coordinator.js';
import { startStatusDisplay, type StatusDisplay } from '../runtime/observe/statusDisplay.js';
import { reportError } from './args.js';
import { formatSummary } from './formatSummary.js';

/** `run --help` without a job: how to call it and which jobs there are. */
export function runUsage(): string {
  const width = Math.max(...Object.keys(jobs).map((name) => name.length));
  return [
    'Usage: xc-orch run JOB [options]',
    '',
    'JOB is a built-in job or the path of a job file (.mjs, .js or .ts) of your own:',
    ...Object.values(jobs).map((job) => `  ${job.name.padEnd(width)}  ${job.description}`),
    '',
    'Run `xc-orch run JOB --help` for the options of every job and the job\'s own.',
    '',
  ].join('\n');
}

/** `run JOB --help`: the job's own options first, then those every job has, with defaults. */
export function runHelp(job: AnyJob): string {
  return [
    `Usage: xc-orch run ${job.name} [options]`,
    '',
    `${job.description}. Workers dial back to this coordinator over mutual TLS.`,
    '',
    formatOptionHelp([job.options, RUN_OPTIONS]),
    '  -h, --help                this help',
    '',
    'Exit status: 0 when every chunk was done, 1 when the job failed, 2 for bad options',
    'or missing inputs (checked before any worker is launched).',
    '',
  ].join('\n');
}

export interface ParsedRun {
  run: RunOptions;
  job: Record<string, unknown>;
  help: boolean;
}

/** Parse the arguments after the job's name against the run table and the job's. */
export function parseJobArgs(job: AnyJob, args: readonly string[]): ParsedRun {
  const tables: OptionTable = { ...job.options, ...RUN_OPTIONS };
  const { values, positionals, help } = parseOptionArgs(tables, args);
  if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}' (the job goes first: xc-orch run ${job.name} [options])`);
  const run: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) (Object.hasOwn(RUN_OPTIONS, key) ? run : own)[key] = value;
  return { run: run as RunOptions, job: own, help };
}

export async function run(args: string[]): Promise<number> {
  const [target, ...rest] = args;
  if (target === undefined || target === '-h' || target === '--help') {
    (target === undefined ? process.stderr : process.stdout).write(runUsage());
    return target === undefined ? 2 : 0;
  }
  let job: AnyJob | undefined;
  let values: Readonly<Record<string, unknown>>;
  let options: CompiledRunOptions;
  try {
    if (target.startsWith('-')) throw new ConfigError(`name the job first: xc-orch run JOB [options] (known: ${Object.keys(jobs).join(', ')})`);
    job = await findJob(target);
    const parsed = parseJobArgs(job, rest);
    if (parsed.help) {
      process.stdout.write(runHelp(job));
      return 0;
    }
    options = compileRunOptions(parsed.run, process.env);
    values = resolveOptions(job.options, parsed.job, process.env);
  } catch (error) {
    const code = reportError('run', error);
    // A job that was found has options to show; a name or file that gave no job has none.
    process.stderr.write(job ? `Run \`xc-orch run ${target} --help\` for the options.\n` : 'Run `xc-orch run --help` for the jobs, and how a job file looks.\n');
    return code;
  }
  let summary: JobSummary;
  try {
    summary = await runWithStatus(job, values, options);
  } catch (error) {
    return reportError('run', error);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(`${formatSummary(summary)}\n`);
  if (summary.after) process.stderr.write(`${summary.after.line}\n`);
  if (summary.ok && !options.json) {
    for (const chunk of summary.chunks) for (const location of chunk.locations) process.stdout.write(`${location}\n`);
    for (const output of summary.after?.outputs ?? []) process.stdout.write(`${output}\n`);
  }
  return summary.ok ? 0 : 1;
}

/**
 * Run a job the way the CLI shows it: notes and the live status on stderr (unless `-q`), the
 * dashboard's and inspector's addresses, and Ctrl-C (or SIGTERM) to stop cleanly; a second exits.
 */
export async function runWithStatus(job: AnyJob, values: Readonly<Record<string, unknown>>, options: CompiledRunOptions): Promise<JobSummary> {
  const abort = new AbortController();
  let display: StatusDisplay | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the job (interrupt again to exit at once)\n`);
    abort.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await executeJob(job, values, options, {
      env: options.env,
      signal: abort.signal,
      onStart: ({ coordinator, notes, dashboardUrl, inspectorUrl, inspectorWebSocketUrl }) => {
        if (dashboardUrl) process.stderr.write(`dashboard: ${dashboardUrl}\n`);
        if (inspectorUrl) process.stderr.write(`Stately inspector: open ${inspectorUrl} (it loads stately.ai/inspect; raw events on ${inspectorWebSocketUrl})\n`);
        if (options.quiet) return;
        for (const note of notes) process.stderr.write(`${note}\n`);
        display = startStatusDisplay(() => coordinator.status());
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    display?.stop();
  }
}
