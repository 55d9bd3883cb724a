/**
 * The `-O` output: one JSON line per state a worker's machine enters, with seconds since the job
 * started, so a whole job can be plotted afterwards (mu's state-times file, as JSON lines).
 *
 * Line shape: `{"t":1.234,"worker":3,"chunk":3,"state":"retrieveLoop.retrieve"}`, plus
 * `"attempt":2` on every line of a chunk's second (third, ...) attempt; the last line of a worker
 * has `state` "done", "failed" or "cancelled" (then with `reason`).
 *
 * @example const timeline = await openTimeline('times.jsonl'); timeline.workerState(0, 0, 'configure'); await timeline.close();
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { JobObserver } from './jobObserver.js';

export interface TimelineEntry {
  t: number;
  worker: number;
  chunk: number;
  state: string;
  /** The chunk's attempt this worker made, when not its first. */
  attempt?: number;
  reason?: string;
}

type Recording = Required<Pick<JobObserver, 'workerAdmitted' | 'workerState' | 'workerEnded'>>;

/**
 * The observer calls that make timeline entries, each handed to `push`: shared by `-O` and `--plot`.
 *
 * @example const entries: TimelineEntry[] = []; const observer = timelineRecorder((e) => entries.push(e));
 */
export function timelineRecorder(push: (entry: TimelineEntry) => void, startedAt = performance.now()): Recording {
  // Only later attempts are kept: a first attempt's lines stay as they always were.
  const attempts = new Map<number, number>();
  const record = (worker: number, chunk: number, state: string, reason?: string) => {
    const entry: TimelineEntry = { t: Math.round(performance.now() - startedAt) / 1000, worker, chunk, state };
    const attempt = attempts.get(worker);
    if (attempt !== undefined) entry.attempt = attempt;
    if (reason !== undefined) entry.reason = reason;
    push(entry);
  };
  return {
    workerAdmitted: (worker, _chunk, attempt) => {
      if (attempt > 1) attempts.set(worker, attempt);
    },
    workerState: record,
    workerEnded: (worker, chunk, status, reason) => {
      record(worker, chunk, status, reason);
      attempts.delete(worker);
    },
  };
}

/** The `-O` writer, a {@link JobObserver} of the coordinator. */
export interface Timeline extends Recording, Required<Pick<JobObserver, 'close'>> {}

export async function openTimeline(file: string, startedAt = performance.now()): Promise<Timeline> {
  const out: WriteStream = createWriteStream(file, { flags: 'w' });
  await once(out, 'open');
  let failure: Error | undefined;
  out.on('error', (error) => {
    failure = error;
  });
  return {
    ...timelineRecorder((entry) => out.write(`${JSON.stringify(entry)}\n`), startedAt),
    async close() {
      out.end();
      if (!out.closed) await once(out, 'close').catch(() => undefined);
      if (failure) throw failure;
    },
  };
}
