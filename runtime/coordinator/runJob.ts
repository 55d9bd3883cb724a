/**
 * `runJob(job, options)`: one run of any job from typed options, the way a program calls it and
 * the CLI's thin layer does. Compile options, open the store, plan, check inputs and executables
 * before launching anything, run the coordinator with the observers asked for, return the summary.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { delimiter, join } from 'node:path';
import { ConfigError, describeError } from '../../common/errors.js';
import type { Logger } from 'pino';
import { createLogger } from '../../common/logger.js';
import { resolveOptions, unknownKeys, type OptionValues } from '../../common/optionTable.js';
import { packageBinDir } from '../../common/packagePaths.js';
import type { AnyJob, Job, JobPlan } from '../../jobs/defineJob.js';
import { openStore } from '../../store/openStore.js';
import type { ObjectStore } from '../../store/store.js';
import type { JobObserver, WorkerEnd } from '../observe/jobObserver.js';
import type { Launcher } from '../launch/launcher.js';
import { openTimeline } from '../observe/timeline.js';
import { startDashboard } from '../observe/dashboard.js';
import { startInspector, type JobInspector } from '../observe/inspector.js';
import { createPlotObserver } from '../observe/plotObserver.js';
import { Coordinator, type CoordinatorJob, type JobSummary } from './coordinator.js';
import { compileRunOptions, RUN_OPTIONS, storedKey, type CompiledRunOptions, type RunOptions } from './runOptions.js';

/** The options of a run of job J: the run options and the job's own, side by side. */
export type JobRunOptions<J> = RunOptions & (J extends Job<infer T, infer _I> ? OptionValues<T> : Readonly<Record<string, unknown>>);

/** What a run tells its caller once the coordinator listens, before any worker is launched. */
export interface RunStart {
  coordinator: Coordinator;
  /** Lines for people: where the coordinator listens, how the host was chosen, costs to expect. */
  notes: string[];
  dashboardUrl?: string;
  inspectorUrl?: string;
  inspectorWebSocketUrl?: string;
}

export interface RunHooks {
  /** Environment variables (TLS, S3 endpoint); default `process.env`. */
  env?: NodeJS.ProcessEnv;
  onStart?(start: RunStart): void;
  /** Progress: an attempt at a chunk ended (chunk number as reported, connection that had it); a failed one may be retried. */
  onChunkEnded?(event: { chunk: number; connection: number; status: WorkerEnd; reason?: string }): void;
  /**
   * Progress: a worker's machine entered a state (named as in the `-O` timeline), told at once,
   * in the same turn as the state's command (if any) is handed to the socket.
   */
  onWorkerState?(event: { chunk: number; connection: number; state: string }): void;
  /** Aborting cancels the run: workers are told to quit and the summary still comes. */
  signal?: AbortSignal;
  /** Where workers come from instead of the launcher the options choose (tests, embedding). */
  launcher?: Launcher;
  /** The coordinator's pino logger; default: quiet on stderr (`-D`/`XC_LOG_LEVEL` for more). */
  logger?: Logger;
}

/**
 * Run a job to its end. Throws ConfigError for bad options, missing inputs or executables
 * (nothing launched then); otherwise resolves with the summary, whether or not every chunk was done.
 *
 * @example
 * const summary = await runJob(jobs.png2y4m, { parts: 4, frames: 6, bucket: 'file:./xc-store' });
 * for (const chunk of summary.chunks) console.log(chunk.chunk, chunk.status, chunk.outputs);
 */
export async function runJob<J extends AnyJob>(job: J, options: JobRunOptions<J> = {} as JobRunOptions<J>, hooks: RunHooks = {}): Promise<JobSummary> {
  const { run, values } = compileJobRun(job, options, hooks.env ?? process.env);
  return executeJob(job, values, run, hooks);
}

/**
 * Split options given from code into the run's (compiled) and the job's (resolved), refusing keys
 * neither knows.
 */
export function compileJobRun<J extends AnyJob>(job: J, options: JobRunOptions<J>, env: NodeJS.ProcessEnv = process.env): { run: CompiledRunOptions; values: Readonly<Record<string, unknown>> } {
  const given = options as Readonly<Record<string, unknown>>;
  const unknown = unknownKeys(given, [RUN_OPTIONS, job.options]);
  if (unknown.length > 0) throw new ConfigError(`unknown option${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} for job ${job.name} (see xc-orch run ${job.name} --help)`);
  const runValues: Record<string, unknown> = {};
  const jobValues: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) (Object.hasOwn(RUN_OPTIONS, key) ? runValues : jobValues)[key] = value;
  return { run: compileRunOptions(runValues as RunOptions, env), values: resolveOptions(job.options, jobValues, env) };
}

/** The job's plan, and the job as the coordinator takes it (outputs as stored). */
export async function planJob(job: AnyJob, values: Readonly<Record<string, unknown>>, options: CompiledRunOptions, store: ObjectStore): Promise<{ plan: JobPlan<unknown>; job: CoordinatorJob }> {
  const plan = await job.plan(values, {
    storeName: store.name,
    list: (prefix) => {
      if (options.hashKeys) throw new ConfigError(`job ${job.name} lists the store under ${prefix}, which hashed key names (-M) do not allow`);
      return store.list(prefix);
    },
  });
  const command = job.worker?.command;
  return {
    plan,
    job: {
      name: job.name,
      machine: job.machine,
      firstChunk: plan.firstChunk ?? 0,
      chunks: plan.chunks.map((c) => ({ input: c.input as object, outputs: c.outputs.map((key) => storedKey(options, key)) })),
      ...(command === undefined ? {} : { command: typeof command === 'string' ? command : command(values) }),
      nonblock: job.worker?.nonblock ?? false,
      relay: job.relay ?? false,
      speculation: job.speculation ?? true,
      // A worker of a chain holds states its peers sent once: its chunk cannot be redone alone.
      redoable: !job.relay,
      ...(plan.units === undefined ? {} : { units: plan.units }),
    },
  };
}

/** Run a job from options already compiled (the CLI compiles them once to say what is wrong). */
export async function executeJob(job: AnyJob, values: Readonly<Record<string, unknown>>, options: CompiledRunOptions, hooks: RunHooks = {}): Promise<JobSummary> {
  const log = hooks.logger ?? createLogger({ name: 'coordinator', debug: options.debug });
  if (!job.relay && (options.relay.kind === 'external' || options.relay.port !== 0)) {
    throw new ConfigError(`job ${job.name} has no peer links: -H/-T (the relay) are for jobs whose workers talk to each other`);
  }
  await checkLocalFolder(options.bucket);
  const store = await openStore(options.bucket, { region: options.regions[0], endpoint: options.s3Endpoint });
  const { plan, job: planned } = await planJob(job, values, options, store);
  if (plan.chunks.length === 0) throw new ConfigError(plan.emptyReason ?? `job ${job.name} has no chunk to run`);
  await checkInputs(store, plan, options);
  if (options.launcher === 'local' && !hooks.launcher) await checkExecutables(job, options.env);
  const skipped = options.resume ? await doneChunks(store, planned, options) : [];
  const summary = await runCoordinator({ ...planned, skipped }, plan, options, store, log, hooks);
  if (!summary.ok || !job.afterRun) return summary;
  try {
    const after = await job.afterRun(values, { summary, store });
    return after ? { ...summary, after: { ok: true, ...after } } : summary;
  } catch (error) {
    return { ...summary, ok: false, after: { ok: false, line: `after the job: ${describeError(error)}`, outputs: [] } };
  }
}

async function runCoordinator(
  job: CoordinatorJob,
  plan: JobPlan<unknown>,
  options: CompiledRunOptions,
  store: ObjectStore,
  log: Logger,
  hooks: RunHooks,
): Promise<JobSummary> {
  const parts = job.chunks.length;
  const profiler = options.profileFile ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const observers: JobObserver[] = [];
  if (hooks.onChunkEnded) {
    const onChunkEnded = hooks.onChunkEnded;
    observers.push({ workerEnded: (connection, chunk, status, reason) => onChunkEnded({ chunk, connection, status, ...(reason === undefined ? {} : { reason }) }) });
  }
  if (hooks.onWorkerState) {
    const onWorkerState = hooks.onWorkerState;
    observers.push({ workerState: (connection, chunk, state) => onWorkerState({ chunk, connection, state }) });
  }
  let coordinator: Coordinator | undefined;
  let inspector: JobInspector | undefined;
  const notes: string[] = [];
  try {
    if (options.timesFile) observers.push(await openTimeline(options.timesFile));
    const title = plan.title ?? `${job.name} · ${parts} chunk${parts === 1 ? '' : 's'}`;
    if (options.plotFile) observers.push(createPlotObserver(options.plotFile, { title }));
    const dashboard = options.dashboard
      ? await startDashboard({
          parts,
          offset: job.firstChunk,
          framesPerChunk: plan.units?.perChunk ?? 1,
          expected: parts + options.spares - (job.skipped?.length ?? 0),
          skipped: (job.skipped ?? []).map((chunk) => job.firstChunk + chunk),
          status: () => coordinator?.status(),
          port: options.dashboard.port,
          host: options.dashboard.host,
          title,
        })
      : undefined;
    if (dashboard) observers.push(dashboard);
    inspector = options.inspect ? await startInspector({ parts, offset: job.firstChunk, ...options.inspect }) : undefined;
    coordinator = await Coordinator.create(options, job, {
      store,
      log,
      observers,
      ...(inspector ? { inspection: inspector.inspection } : {}),
      ...(hooks.launcher ? { launcher: hooks.launcher } : {}),
    });
    const { host, port } = coordinator.address();
    notes.push(`coordinator listening on ${options.listenHost}:${port}; workers dial ${host}:${port} (${options.launcher} launcher)`);
    if (options.hostNote) notes.push(options.hostNote);
    const relay = coordinator.relayAddress();
    if (relay) notes.push(`${relay.embedded ? `relay listening on ${options.listenHost}:${relay.port}; ` : 'relay: '}workers dial ${relay.host}:${relay.port}`);
    if (job.skipped?.length) notes.push(`--resume: ${job.skipped.length} of ${parts} chunks have all their outputs in ${store.name} already; skipping them`);
    hooks.onStart?.({
      coordinator,
      notes,
      ...(dashboard ? { dashboardUrl: dashboard.url } : {}),
      ...(inspector?.url ? { inspectorUrl: inspector.url, inspectorWebSocketUrl: inspector.webSocketUrl! } : {}),
    });
  } catch (error) {
    // Nothing was run, so the coordinator never closed the observers: close what was opened.
    await Promise.allSettled([...observers.map((o) => o.close?.()), inspector?.close()]);
    throw error;
  }
  const running = coordinator;
  const onAbort = () => running.cancel(hooks.signal?.reason instanceof Error ? hooks.signal.reason.message : String(hooks.signal?.reason ?? 'aborted'));
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await running.run();
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
    await inspector?.close();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      // A profile that cannot be written must not cost the user the job's summary.
      await writeProfile(options.profileFile!, JSON.stringify(profile), log);
    }
  }
}

async function writeProfile(file: string, text: string, log: ReturnType<typeof createLogger>): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, text).catch((error: unknown) => log.warn(`could not write the CPU profile ${file}: ${describeError(error)}`));
}

/** `-b file:DIR` must name a folder (or nothing yet): a file there would fail every transfer. */
async function checkLocalFolder(bucket: string): Promise<void> {
  if (!bucket.startsWith('file:')) return;
  const dir = bucket.slice('file:'.length);
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new ConfigError(`-b ${bucket}: ${dir} is a file; a file: store is a folder (-b file:DIR)`);
}

/** Every input key of the plan must be in the store (as stored: hashed with `-M`). */
async function checkInputs(store: ObjectStore, plan: JobPlan<unknown>, options: CompiledRunOptions): Promise<void> {
  const needed = [...new Set(plan.chunks.flatMap((c) => c.inputs))].map((key) => storedKey(options, key));
  const missing = await missingKeys(store, needed, options.hashKeys);
  if (missing.length === 0) return;
  const shown = missing.slice(0, 5).join(', ');
  const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
  const hint = plan.missingHint ? ` (${plan.missingHint})` : '';
  throw new ConfigError(`${missing.length} ${plan.inputName ?? 'input'}(s) missing in ${store.name}: ${shown}${more}${hint}`);
}

/** The keys the store lacks, in order: by listing their folders, or one question per key when hashed. */
export async function missingKeys(store: ObjectStore, keys: readonly string[], hashed: boolean): Promise<string[]> {
  const prefixes = new Set(keys.map((key) => key.slice(0, key.lastIndexOf('/') + 1)));
  if (hashed || prefixes.has('') || prefixes.size > 32) {
    // Hashed keys share no prefix to list by: ask for each, a bounded number at a time.
    const present = new Array<boolean>(keys.length);
    let next = 0;
    const ask = async () => {
      for (let i = next++; i < keys.length; i = next++) present[i] = await store.exists(keys[i]!);
    };
    await Promise.all(Array.from({ length: Math.min(32, keys.length) }, ask));
    return keys.filter((_, i) => !present[i]);
  }
  const present = new Set<string>();
  for (const prefix of prefixes) for await (const key of store.list(prefix)) present.add(key);
  return keys.filter((key) => !present.has(key));
}

/** `--resume`: the chunks (0-based) every output of which is in the store already. */
async function doneChunks(store: ObjectStore, job: CoordinatorJob, options: CompiledRunOptions): Promise<number[]> {
  const missing = new Set(await missingKeys(store, [...new Set(job.chunks.flatMap((c) => c.outputs))], options.hashKeys));
  const done: number[] = [];
  job.chunks.forEach((chunk, i) => chunk.outputs.length > 0 && chunk.outputs.every((key) => !missing.has(key)) && done.push(i));
  return done;
}

/** Local workers run with this machine's PATH (our own tools first): say which program is missing. */
async function checkExecutables(job: AnyJob, env: NodeJS.ProcessEnv): Promise<void> {
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const name of job.worker?.executables ?? []) {
    const candidates = [join(packageBinDir(), `${name}.js`), ...dirs.map((d) => join(d, name))];
    const found = await Promise.any(candidates.map((file) => access(file, constants.X_OK))).then(() => true, () => false);
    if (!found) {
      throw new ConfigError(`job ${job.name} runs '${name}', which is not on the local workers' PATH: install it (or put it on PATH) and run again`);
    }
  }
}
