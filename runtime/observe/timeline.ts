/**
 * The `-O` output: one JSON line per state a worker's machine enters, with seconds since the job
 * started, so a whole job can be plotted afterwards (mu's state-times file, as JSON lines).
 *
 * Line shape: `{"t":1.234,"worker":3,"chunk":3,"state":"retrieveLoop.retrieve"}`; the last line of a
 * worker has `state` "done" or "failed" (then with `reason`).
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
  reason?: string;
}

/** The `-O` writer, a {@link JobObserver} of the coordinator. */
export interface Timeline extends Required<Pick<JobObserver, 'workerState' | 'workerEnded' | 'close'>> {}

export async function openTimeline(file: string, startedAt = performance.now()): Promise<Timeline> {
  const out: WriteStream = createWriteStream(file, { flags: 'w' });
  await once(out, 'open');
  let failure: Error | undefined;
  out.on('error', (error) => {
    failure = error;
  });
  const record = (worker: number, chunk: number, state: string, reason?: string) => {
    const entry: TimelineEntry = { t: Math.round(performance.now() - startedAt) / 1000, worker, chunk, state };
    if (reason !== undefined) entry.reason = reason;
    out.write(`${JSON.stringify(entry)}\n`);
  };
  return {
    workerState: record,
    workerEnded: (worker, chunk, status, reason) => record(worker, chunk, status, reason),
    async close() {
      out.end();
      if (!out.closed) await once(out, 'close').catch(() => undefined);
      if (failure) throw failure;
    },
  };
}
