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
 * What became of one invocation. `accepted`: the launcher has handed it on (a Lambda Invoke
 * answered, a local process spawned); the worker may still fail to connect. `started`: the worker
 * is running from now, for launchers that know it (local); its arrival deadline counts from the
 * later of the two. `failed`: it could not be started. `exited`: a local worker process ended;
 * `detail` is the tail of its stderr, to explain workers that died before or while working.
 */
export type LaunchReport =
  | { type: 'accepted'; invocation: number }
  | { type: 'started'; invocation: number }
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
   * `accepted` (and `started`, where known) or `failed`. May be called again while earlier calls
   * run (retries, speculative copies): the requests join the same pool, in order. Resolves when
   * every request of this call has been reported; never rejects for a single worker's failure.
   * `report` may keep being called after that (e.g. `exited`).
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
