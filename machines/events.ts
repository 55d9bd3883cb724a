/**
 * Events into, and events emitted by, the machines of `machines/`, defined once (dotted names).
 * The runtime owns all I/O: it turns socket frames into `socket.*` events, writes every emitted
 * `worker.command` as one frame, and reports launches and connections to the supervisor.
 */

/** Into a per-connection machine: one decoded frame, or the end of the connection. */
export type ConnectionEvent = { type: 'socket.message'; text: string } | { type: 'socket.closed'; reason: string };

/**
 * Emitted by a per-connection machine (subscribe with `actor.on(type, handler)`):
 * `worker.command` is a command to write to the worker, `worker.info` an `INFO:K:V` answer.
 */
export type ConnectionEmitted =
  | { type: 'worker.command'; text: string }
  | { type: 'worker.info'; key: string; value: string };

/** What a per-connection machine ends with. `state` names where it happened (dotted path). */
export type ConnectionOutput = { status: 'done' } | { status: 'failed'; reason: string; state: string };

/** Into the supervisor, from the runtime (`worker.*`) and from the launcher actor (`launch.*`). */
export type SupervisorEvent =
  | { type: 'worker.hello'; connection: number; invocation?: number }
  | { type: 'worker.finished'; connection: number; chunk: number }
  | { type: 'worker.failed'; connection: number; chunk: number; reason: string; state: string }
  | LaunchEvent;

/** What the launcher actor reports back to the supervisor, once per invocation. */
export type LaunchEvent =
  | { type: 'launch.accepted'; invocation: number }
  | { type: 'launch.failed'; invocation: number; reason: string }
  /** Stop the job now (Ctrl-C): running and missing chunks are reported with the reason. */
  | { type: 'job.cancel'; reason: string };

/** The supervisor's decisions, emitted for the runtime. Chunk numbers are relative to the offset. */
export type SupervisorEmitted =
  | { type: 'worker.admitted'; connection: number; chunk: number; invocation?: number }
  | { type: 'worker.rejected'; connection: number; reason: string }
  | { type: 'job.finished'; summary: JobSummary };

export type ChunkOutcome = {
  chunk: number;
  status: 'done' | 'failed' | 'missing';
  reason?: string;
  /** Last state of the worker's machine, for failed chunks. */
  state?: string;
  connection?: number;
  invocation?: number;
};

/** The supervisor's output (and the payload of `job.finished`). */
export interface JobSummary {
  ok: boolean;
  chunks: ChunkOutcome[];
  launchFailures: Array<{ invocation: number; reason: string }>;
}
