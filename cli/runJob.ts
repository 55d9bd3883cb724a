/**
 * Runs a png2y4m job from user options: compile options, open the store, check that every input
 * frame exists, run the coordinator with a live status, and report. Shared by `run` and `demo`.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { availableParallelism } from 'node:os';
import { chunkKeys } from '../machines/png2y4m.js';
import { Coordinator, type JobSummary } from '../runtime/coordinator/coordinator.js';
import { ConfigError, describeError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { openStore } from '../store/openStore.js';
import { compileRunOptions, storedKey, type CompiledRunOptions, type RunOptions } from '../runtime/coordinator/runOptions.js';
import { startStatusDisplay } from '../runtime/observe/statusDisplay.js';
import type { ObjectStore } from '../store/store.js';
import type { JobObserver } from '../runtime/observe/jobObserver.js';
import { openTimeline } from '../runtime/observe/timeline.js';
import { startDashboard } from '../runtime/observe/dashboard.js';
import { startInspector, type JobInspector } from '../runtime/observe/inspector.js';
import { createPlotObserver } from '../runtime/observe/plotObserver.js';
import { reportError } from './args.js';

/** Above this many local workers, say what starting them all at once costs. */
const LOCAL_WORKERS_NOTE_ABOVE = 32;

/** Every input key the job needs that the store lacks, in order (as stored: hashed with `-M`). */
export async function missingInputs(store: ObjectStore, options: CompiledRunOptions): Promise<string[]> {
  const needed: string[] = [];
  for (let chunk = options.offset; chunk < options.offset + options.parts; chunk++) {
    for (const key of chunkKeys({ chunk, frames: options.frames, video: options.video, inFormat: options.inFormat }).inputKeys) {
      needed.push(storedKey(options, key));
    }
  }
  if (options.hashKeys) {
    // Hashed keys share no prefix to list by: ask for each, a bounded number at a time.
    const present = new Array<boolean>(needed.length);
    let next = 0;
    const ask = async () => {
      for (let i = next++; i < needed.length; i = next++) present[i] = await store.exists(needed[i]!);
    };
    await Promise.all(Array.from({ length: Math.min(32, needed.length) }, ask));
    return needed.filter((_, i) => !present[i]);
  }
  const present = new Set<string>();
  for await (const key of store.list(`${options.video}-${options.inFormat}/`)) present.add(key);
  return needed.filter((key) => !present.has(key));
}

/** What a caller of {@link executeJob} may want once the job is set up (tests, embedding). */
export interface JobHooks {
  /** Called once the coordinator listens, before any worker is launched. */
  onStart?(job: { coordinator: Coordinator; dashboardUrl?: string; inspectorUrl?: string; inspectorWebSocketUrl?: string }): void;
}

/** Run the job; throws ConfigError for bad options or missing inputs, resolves with the summary. */
export async function executeJob(options: CompiledRunOptions, hooks: JobHooks = {}): Promise<JobSummary> {
  const log = createLogger({ name: 'coordinator', debug: options.debug });
  const store = await openStore(options.bucket, { region: options.regions[0], endpoint: options.s3Endpoint });
  const missing = await missingInputs(store, options);
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ');
    const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
    throw new ConfigError(
      `${missing.length} input frame(s) missing in ${store.name}: ${shown}${more} ` +
        `(copy frames in with 'xc-orch store put DIR ${options.video}-${options.inFormat}', or try 'xc-orch demo')`,
    );
  }
  const profiler = options.profileFile ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const observers: JobObserver[] = [];
  let coordinator: Coordinator | undefined;
  let inspector: JobInspector | undefined;
  try {
    if (options.timesFile) observers.push(await openTimeline(options.timesFile));
    const title = `png2y4m · ${options.parts} chunk${options.parts === 1 ? '' : 's'} × ${options.frames} frames`;
    if (options.plotFile) observers.push(createPlotObserver(options.plotFile, { title }));
    const dashboard = options.dashboard
      ? await startDashboard({
          parts: options.parts,
          offset: options.offset,
          framesPerChunk: options.frames,
          expected: options.parts + options.spares,
          status: () => coordinator?.status(),
          port: options.dashboard.port,
          host: options.dashboard.host,
          title,
        })
      : undefined;
    if (dashboard) observers.push(dashboard);
    inspector = options.inspect ? await startInspector({ parts: options.parts, offset: options.offset, ...options.inspect }) : undefined;
    coordinator = await Coordinator.create(options, { store, log, observers, ...(inspector ? { inspection: inspector.inspection } : {}) });
    if (dashboard) process.stderr.write(`dashboard: ${dashboard.url}\n`);
    if (inspector?.url) {
      process.stderr.write(`Stately inspector: open ${inspector.url} (it loads stately.ai/inspect; raw events on ${inspector.webSocketUrl})\n`);
    }
    hooks.onStart?.({
      coordinator,
      ...(dashboard ? { dashboardUrl: dashboard.url } : {}),
      ...(inspector?.url ? { inspectorUrl: inspector.url, inspectorWebSocketUrl: inspector.webSocketUrl! } : {}),
    });
  } catch (error) {
    // Nothing was run, so the coordinator never closed the observers: close what was opened.
    await Promise.allSettled([...observers.map((o) => o.close?.()), inspector?.close()]);
    throw error;
  }
  if (!options.quiet) {
    const { host, port } = coordinator.address();
    process.stderr.write(`coordinator listening on port ${port}; workers dial ${host}:${port} (${options.launcher} launcher)\n`);
    if (options.hostNote) process.stderr.write(`${options.hostNote}\n`);
    const workers = options.parts + options.spares;
    if (options.launcher === 'local' && workers > LOCAL_WORKERS_NOTE_ABOVE) {
      process.stderr.write(
        `note: the local launcher starts all ${workers} workers at once, each a Node.js process of about 90 MB ` +
          `(${availableParallelism()} cores here); burst parallelism at this size is what --launcher lambda is for\n`,
      );
    }
  }
  const running = coordinator;
  const display = options.quiet ? undefined : startStatusDisplay(() => running.status());
  // The first Ctrl-C (or SIGTERM) ends the job cleanly and still reports; a second exits at once.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the job (interrupt again to exit at once)\n`);
    running.cancel(`interrupted by ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await running.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    display?.stop();
    await inspector?.close();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      // A profile that cannot be written must not cost the user the job's summary.
      await writeFile(options.profileFile!, JSON.stringify(profile)).catch((error: unknown) =>
        process.stderr.write(`warning: could not write the CPU profile ${options.profileFile}: ${describeError(error)}\n`),
      );
    }
  }
}

export function formatSummary(summary: JobSummary): string {
  const done = summary.chunks.filter((c) => c.status === 'done').length;
  const lines = [
    `${summary.ok ? 'done' : 'FAILED'}: ${done}/${summary.parts} chunks (${done * summary.framesPerChunk} frames) in ${summary.seconds.toFixed(2)} s, store ${summary.store}`,
  ];
  for (const chunk of summary.chunks) {
    if (chunk.status === 'done') continue;
    const who = chunk.worker === undefined ? 'no worker' : `worker ${chunk.worker}`;
    lines.push(`  chunk ${chunk.chunk} (${who}) ${chunk.status}${chunk.state ? ` in ${chunk.state}` : ''}: ${chunk.reason ?? 'no reason given'}`);
  }
  // A failed launch already named in its chunk's reason is not repeated.
  const named = (invocation: number) => summary.chunks.some((c) => c.reason?.includes(`launch of invocation ${invocation} failed`));
  for (const failure of summary.launchFailures) {
    if (!named(failure.invocation)) lines.push(`  launch ${failure.invocation} failed: ${failure.reason}`);
  }
  for (const exit of summary.workerExits) {
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    lines.push(`  worker process ${exit.invocation} exited with ${how}${exit.detail ? `: ${exit.detail}` : ''}`);
  }
  return lines.join('\n');
}

/** CLI wrapper: prints the summary (stderr for humans, or JSON on stdout) and returns the exit code. */
export async function runPng2y4mJob(raw: RunOptions): Promise<number> {
  let summary: JobSummary;
  let options: CompiledRunOptions;
  try {
    options = compileRunOptions(raw);
    summary = await executeJob(options);
  } catch (error) {
    return reportError('run', error);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(`${formatSummary(summary)}\n`);
  if (summary.ok && !options.json) {
    for (const chunk of summary.chunks) process.stdout.write(`${chunk.output}\n`);
  }
  return summary.ok ? 0 : 1;
}
