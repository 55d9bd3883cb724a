/**
 * Events into, and events emitted by, the machines of `machines/`, defined once (dotted names).
 * The runtime owns all I/O: it turns socket frames into `socket.*` events, writes every emitted
 * `worker.command` as one frame, and reports launches and connections to the supervisor.
 */

/**
 * Into a per-connection machine: one decoded frame, the end of the connection, or the runtime's
 * word that the worker has been silent for the machine's `answerTimeoutMs` (its answer deadline,
 * runtime/coordinator/answerDeadline.ts).
 */
export type ConnectionEvent =
  | { type: 'socket.message'; text: string }
  | { type: 'socket.closed'; reason: string }
  | { type: 'answer.timeout' };

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
  /** `reason` as the connection machine ended with: the supervisor judges from it whether a retry can help. */
  | { type: 'worker.failed'; connection: number; chunk: number; reason: string; state: string }
  /** The supervisor's own clock (raised by itself every `tickMs`; the runtime never sends it). */
  | { type: 'supervisor.tick' }
  | LaunchEvent;

/** What the launcher actor reports back to the supervisor, once per invocation. */
export type LaunchEvent =
  | { type: 'launch.accepted'; invocation: number }
  /** The worker is running from now (a local process spawned): its arrival deadline counts from here. */
  | { type: 'launch.started'; invocation: number }
  | { type: 'launch.failed'; invocation: number; reason: string }
  /** Stop the job now (Ctrl-C): running and missing chunks are reported with the reason. */
  | { type: 'job.cancel'; reason: string };

/**
 * Sent by the supervisor to its `launcher` actor for every attempt after the initial launch (a
 * retry, or a speculative copy of a straggler): start one more worker, numbered `invocation`
 * (fresh, never used before), and report it with `launch.*` like the initial ones.
 */
export type LauncherEvent = { type: 'launch.request'; invocation: number; chunk: number; kind: 'retry' | 'speculative' };

/** The supervisor's decisions, emitted for the runtime. Chunk numbers are relative to the offset. */
export type SupervisorEmitted =
  /** `attempt`: the chunk's attempt number (2, 3, ...), absent for its first. */
  | { type: 'worker.admitted'; connection: number; chunk: number; invocation?: number; attempt?: number }
  | { type: 'worker.rejected'; connection: number; reason: string }
  /** Another attempt of the chunk finished first: tell this worker `quit:` and stop its machine. */
  | { type: 'worker.cancelled'; connection: number; chunk: number; reason: string }
  | { type: 'job.finished'; summary: JobSummary };

/** One attempt at a chunk: a worker (an invocation, a connection, or both) given that chunk. */
export type AttemptOutcome = {
  kind: 'first' | 'retry' | 'speculative';
  outcome: 'done' | 'failed' | 'cancelled';
  invocation?: number;
  connection?: number;
  reason?: string;
  /** Last state of the worker's machine, for attempts that failed while connected. */
  state?: string;
  /** On the supervisor's clock (ms since the job started, to its tick): when the worker started, and when the attempt ended. */
  startMs?: number;
  endMs?: number;
};

export type ChunkOutcome = {
  chunk: number;
  /** `skipped`: its outputs were already there (`--resume`), so it was never launched. */
  status: 'done' | 'failed' | 'missing' | 'skipped';
  reason?: string;
  /** Last state of the worker's machine, for failed chunks. */
  state?: string;
  /** The connection that had the chunk. */
  connection?: number;
  /** The invocation that connection came from (absent for workers started by hand). */
  invocation?: number;
  /** Every attempt, in the order they began (empty for skipped chunks). */
  attempts: AttemptOutcome[];
};

/** The supervisor's output (and the payload of `job.finished`). */
export interface JobSummary {
  ok: boolean;
  chunks: ChunkOutcome[];
  launchFailures: Array<{ invocation: number; reason: string }>;
}
