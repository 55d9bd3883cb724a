/**
 * What the coordinator tells the outside world while a job runs. The `-O` timeline, the live
 * dashboard and the plot are observers; the coordinator calls every observer synchronously, so an
 * observer must be cheap (O(1) per call) and must not throw.
 *
 * @example const observer: JobObserver = { workerState: (w, c, s) => console.log(w, c, s) };
 */
import type { InspectionEvent } from 'xstate';
import type { LaunchReport } from '../launch/launcher.js';

export type WorkerEnd = 'done' | 'failed' | 'cancelled';

export interface JobObserver {
  /** Worker `worker` (connection number) was given `chunk`, as the chunk's attempt number `attempt` (1, 2, ...). */
  workerAdmitted?(worker: number, chunk: number, attempt: number): void;
  /** The machine of worker `worker` (connection number) working on `chunk` entered `state`. */
  workerState?(worker: number, chunk: number, state: string): void;
  /**
   * The worker's machine ended; `reason` is set when it failed or was cancelled (another attempt
   * of its chunk finished first). A failed attempt may be followed by another (a retry).
   */
  workerEnded?(worker: number, chunk: number, status: WorkerEnd, reason?: string): void;
  /** A frame was exchanged with a worker (`out`: command sent, `in`: answer received). */
  workerMessage?(worker: number, direction: 'in' | 'out', text: string): void;
  /** A launcher report (accepted, failed, exited). */
  launch?(report: LaunchReport): void;
  /** Flush and release what the observer holds; awaited when the job ends. */
  close?(): Promise<void>;
}

/** Where XState inspection events go (Stately inspector, recordings); sampled per chunk. */
export interface JobInspection {
  supervisor?: (event: InspectionEvent) => void;
  /** Return an inspector for this chunk's worker machine, or undefined to leave it uninspected. */
  worker?: (chunk: number) => ((event: InspectionEvent) => void) | undefined;
}
