/**
 * The `-O` output: one JSON line per state a worker's machine enters, with seconds since the job
 * started, so a whole job can be plotted afterwards (mu's state-times file, as JSON lines).
 *
 * Line shape: `{"t":1.234,"worker":3,"chunk":3,"state":"retrieveLoop.retrieve"}`; the last line of a
 * worker has `state` "done" or "failed" (then with `reason`).
 *
 * @example const timeline = await openTimeline('times.jsonl'); timeline.record(0, 0, 'configure'); await timeline.close();
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

export interface TimelineEntry {
  t: number;
  worker: number;
  chunk: number;
  state: string;
  reason?: string;
}

export interface Timeline {
  record(worker: number, chunk: number, state: string, reason?: string): void;
  close(): Promise<void>;
}

/** A timeline that writes nothing (no `-O`). */
export const noTimeline: Timeline = { record() {}, close: async () => {} };

export async function openTimeline(file: string, startedAt = performance.now()): Promise<Timeline> {
  const out: WriteStream = createWriteStream(file, { flags: 'w' });
  await once(out, 'open');
  let failure: Error | undefined;
  out.on('error', (error) => {
    failure = error;
  });
  return {
    record(worker, chunk, state, reason) {
      const entry: TimelineEntry = { t: Math.round(performance.now() - startedAt) / 1000, worker, chunk, state };
      if (reason !== undefined) entry.reason = reason;
      out.write(`${JSON.stringify(entry)}\n`);
    },
    async close() {
      out.end();
      if (!out.closed) await once(out, 'close').catch(() => undefined);
      if (failure) throw failure;
    },
  };
}
