/**
 * The one interface every way of starting workers implements: local child processes, `none`
 * (workers started by hand elsewhere) and, later, Lambda. A launcher only starts workers and
 * reports what happened to each invocation; admitting them is the worker server's job.
 */
import type { WorkerEvent } from '../../worker/event.js';

/** One worker to start: its invocation number (mu's `##ID##`) and its payload. */
export interface LaunchRequest {
  invocation: number;
  event: WorkerEvent;
}

/**
 * What became of one invocation. `accepted`: the worker was started (it may still fail to
 * connect). `failed`: it could not be started. `exited`: a local worker process ended; `detail`
 * is the tail of its stderr, to explain workers that died before or while working.
 */
export type LaunchReport =
  | { type: 'accepted'; invocation: number }
  | { type: 'failed'; invocation: number; reason: string }
  | { type: 'exited'; invocation: number; code: number | null; signal: string | null; detail: string };

/**
 * @example
 * await launcher.launch([{ invocation: 0, event }], (report) => console.log(report.type, report.invocation));
 * // ... later, when the job is over:
 * await launcher.stop();
 */
export interface Launcher {
  /**
   * Start every request, at most the launcher's concurrency at a time, reporting each one as
   * `accepted` or `failed`. Resolves when every request has been reported; never rejects for a
   * single worker's failure. `report` may keep being called after that (e.g. `exited`).
   */
  launch(requests: LaunchRequest[], report: (report: LaunchReport) => void): Promise<void>;
  /** Stop launching, end whatever this launcher still runs, and resolve when it is gone. */
  stop(): Promise<void>;
}

/**
 * The JSON a worker receives for one invocation: the event with `id` set to the invocation, and
 * mu's `##ID##` placeholder replaced by it wherever it appears.
 *
 * @example invocationPayload({ invocation: 3, event }) // '{"mode":1,...,"id":3}'
 */
export function invocationPayload(request: LaunchRequest): string {
  const id = String(request.invocation);
  return JSON.stringify({ ...request.event, id: request.invocation }).replaceAll('##ID##', id);
}

/**
 * Run `task` on every item with at most `limit` in flight; resolves when all have settled.
 * Stops starting new items once `stopped()` returns true (the rest are handed to `skipped`).
 *
 * @example await forEachBounded(requests, 16, (r) => start(r), () => false, () => {});
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
  stopped: () => boolean,
  skipped: (item: T) => void,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      if (stopped()) {
        skipped(item);
        continue;
      }
      await task(item);
    }
  };
  const lanes = Math.max(1, Math.min(Math.floor(limit), items.length));
  await Promise.all(Array.from({ length: lanes }, lane));
}
