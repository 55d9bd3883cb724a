/**
 * The job's supervisor: launches workers through one pooled `launcher` actor, binds each worker
 * that says hello to a chunk, collects results, and decides when the job is over. Pure: the
 * runtime provides the real launcher (`.provide({ actors: { launcher } })`), forwards hellos and
 * results as events, and acts on what the supervisor emits.
 *
 * Contract with the runtime:
 * - launcher input `{ invocations }` (0 .. parts+spares-1); it sends back `launch.accepted
 *   {invocation}` or `launch.failed {invocation, reason}` per invocation; it is stopped when the
 *   job is over.
 * - `worker.hello {connection, invocation?}` -> emits `worker.admitted {connection, chunk}` (start a
 *   connection machine for that chunk) or `worker.rejected {connection, reason}` (send `quit:`).
 * - `worker.finished` / `worker.failed` when a connection machine ends.
 * - `arrivalTimeoutMs`: launched workers not heard of by then count as failed launches.
 * - `job.cancel {reason}` (Ctrl-C) ends the job at once; running and missing chunks carry the reason.
 * - emits `job.finished {summary}` and ends with the summary as output. Hellos arriving after
 *   that are the runtime's to refuse (reason {@link REJECT.jobOver}).
 * Binding: invocation k < parts gets chunk k if still free, otherwise (spares, anonymous hellos,
 * chunk taken) the lowest free chunk. The job is over when every chunk is done or failed, or when
 * chunks are still free but nothing is running and no worker can still arrive (every launch failed
 * or arrived), or when `killAfterMs` has elapsed. While workers run it waits for them, so the
 * summary says exactly which chunks need a relaunch.
 * Counts for a status display are counters in the context (`counts`), O(1) to read; each event
 * costs O(1) decisions plus copying one block of the chunk or invocation table (`blockList.ts`:
 * copying the whole table per event made 20,000 workers quadratic).
 */
import { assign, emit, enqueueActions, fromCallback, setup, type EventObject } from 'xstate';
import { blockListGet, blockListMap, blockListOf, blockListSet, type BlockList } from './blockList.js';
import type { ChunkOutcome, JobSummary, SupervisorEmitted, SupervisorEvent } from './events.js';

export interface SupervisorInput {
  /** Chunks 0 .. parts-1 (relative to the offset). */
  parts: number;
  /** Extra invocations parts .. parts+spares-1 that take the place of missing workers. */
  spares: number;
  /** End the job this long after it started, failing whatever still runs. */
  killAfterMs?: number;
  /**
   * Launched workers that have not said hello this long after the job started count as failed
   * launches (a Lambda worker that cannot reach us is never heard of otherwise). Absent: wait.
   */
  arrivalTimeoutMs?: number;
}

/** What the `launcher` actor is started with. */
export interface LauncherInput {
  invocations: number[];
}

export type SupervisorOutput = JobSummary;

/** Reasons a worker is told to quit. */
export const REJECT = {
  duplicate: (invocation: number) => `invocation ${invocation} already connected`,
  unknown: (invocation: number) => `unknown invocation ${invocation}`,
  noChunkLeft: 'no chunk left',
  jobOver: 'job over',
} as const;

type ChunkRecord =
  | { status: 'free' }
  | { status: 'running'; connection: number; invocation?: number }
  | { status: 'done'; connection: number; invocation?: number }
  | { status: 'failed'; connection: number; invocation?: number; reason: string; state: string };

type InvocationStatus = 'pending' | 'accepted' | 'failed' | 'arrived';

export interface SupervisorContext {
  parts: number;
  spares: number;
  killAfterMs: number | undefined;
  arrivalTimeoutMs: number | undefined;
  chunks: BlockList<ChunkRecord>;
  invocations: BlockList<InvocationStatus>;
  /** The lowest free chunk (`parts` when none is). */
  lowestFree: number;
  /** Chunks by status: free (waiting for a worker), connected (running), done, failed. */
  counts: { waiting: number; connected: number; done: number; failed: number };
  /** Launches not yet resolved, and accepted ones whose worker has not said hello yet. */
  launches: { pending: number; accepted: number; failed: number; arrived: number };
  /** Hellos without an invocation number (workers started by hand). */
  anonymous: number;
  launchFailures: ReadonlyArray<{ invocation: number; reason: string }>;
  killed: boolean;
  /** Why the job was cancelled from outside (`job.cancel`, e.g. Ctrl-C), if it was. */
  cancelled: string | undefined;
}

type HelloEvent = Extract<SupervisorEvent, { type: 'worker.hello' }>;

/**
 * Workers that may still say hello: launches pending or accepted, less hand-started arrivals.
 *
 * @example workersStillExpected(supervisor.getSnapshot().context) // 0 once every launch failed or arrived
 */
export function workersStillExpected(context: SupervisorContext): number {
  return Math.max(0, context.launches.pending + context.launches.accepted - context.anonymous);
}

/** More chunks free than workers that can still come: the job cannot fully succeed. */
export function jobDoomed(context: SupervisorContext): boolean {
  return context.counts.failed > 0 || context.counts.waiting > workersStillExpected(context);
}

function chunkFor(context: SupervisorContext, invocation: number | undefined): number | undefined {
  if (invocation !== undefined && invocation < context.parts && blockListGet(context.chunks, invocation)?.status === 'free') return invocation;
  return context.lowestFree < context.parts ? context.lowestFree : undefined;
}

/** Why a hello is refused (undefined: admit it), and whether it still counts as a worker arriving. */
function rejection(context: SupervisorContext, event: HelloEvent): { reason: string; arrival: boolean } | undefined {
  const { invocation } = event;
  if (invocation !== undefined) {
    if (!Number.isInteger(invocation) || invocation < 0 || invocation >= context.invocations.length) {
      return { reason: REJECT.unknown(invocation), arrival: false };
    }
    if (blockListGet(context.invocations, invocation) === 'arrived') return { reason: REJECT.duplicate(invocation), arrival: false };
  }
  return chunkFor(context, invocation) === undefined ? { reason: REJECT.noChunkLeft, arrival: true } : undefined;
}

/** Record a hello as an arrival (whether or not it gets a chunk). */
function arrive(context: SupervisorContext, invocation: number | undefined): Partial<SupervisorContext> {
  if (invocation === undefined) return { anonymous: context.anonymous + 1 };
  const was = blockListGet(context.invocations, invocation);
  if (was === undefined || was === 'arrived') return {};
  const launches = { ...context.launches, arrived: context.launches.arrived + 1 };
  if (was === 'pending') launches.pending--;
  else if (was === 'accepted') launches.accepted--;
  else launches.failed--; // reported failed, yet here: the worker is real
  return { invocations: blockListSet(context.invocations, invocation, 'arrived'), launches };
}

function holds(context: SupervisorContext, connection: number, chunk: number): boolean {
  const record = blockListGet(context.chunks, chunk);
  return record?.status === 'running' && record.connection === connection;
}

function summarize(context: SupervisorContext): JobSummary {
  const failedLaunch = new Map(context.launchFailures.map((f) => [f.invocation, f.reason]));
  const chunks = blockListMap(context.chunks, (record, chunk): ChunkOutcome => {
    switch (record.status) {
      case 'free': {
        const launch = failedLaunch.get(chunk);
        const reason = context.cancelled !== undefined
          ? `no worker arrived before the job was cancelled (${context.cancelled})`
          : context.killed
          ? `no worker arrived before the kill timeout (${context.killAfterMs} ms)`
          : launch !== undefined
            ? `no worker arrived (launch of invocation ${chunk} failed: ${launch})`
            : 'no worker arrived';
        return { chunk, status: 'missing', reason };
      }
      case 'running':
        return {
          chunk,
          status: 'failed',
          reason:
            context.cancelled !== undefined ? `cancelled while running (${context.cancelled})` : `killed: still running after ${context.killAfterMs} ms`,
          connection: record.connection,
          ...(record.invocation === undefined ? {} : { invocation: record.invocation }),
        };
      case 'done':
        return { chunk, status: 'done', connection: record.connection, ...(record.invocation === undefined ? {} : { invocation: record.invocation }) };
      case 'failed':
        return {
          chunk,
          status: 'failed',
          reason: record.reason,
          state: record.state,
          connection: record.connection,
          ...(record.invocation === undefined ? {} : { invocation: record.invocation }),
        };
    }
  });
  return { ok: chunks.every((c) => c.status === 'done'), chunks, launchFailures: [...context.launchFailures] };
}

const NEVER_MS = 2_147_483_647; // setTimeout's maximum; the guarded transition never fires

/**
 * @example
 * const supervisor = createActor(supervisorMachine.provide({ actors: { launcher } }), { input: { parts: 4, spares: 1 } });
 * supervisor.on('worker.admitted', ({ connection, chunk }) => startConnectionMachine(connection, chunk));
 * supervisor.start();
 * supervisor.send({ type: 'worker.hello', connection: 0, invocation: 2 }); // admitted to chunk 2
 */
export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    emitted: {} as SupervisorEmitted,
    input: {} as SupervisorInput,
    output: {} as SupervisorOutput,
  },
  actors: {
    // Harmless default: launches nothing. The runtime provides the real one.
    launcher: fromCallback<EventObject, LauncherInput>(() => undefined),
  },
  actions: {
    admitWorker: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'worker.hello') return;
      const chunk = chunkFor(context, event.invocation)!;
      const record: ChunkRecord = { status: 'running', connection: event.connection, ...(event.invocation === undefined ? {} : { invocation: event.invocation }) };
      const chunks = blockListSet(context.chunks, chunk, record);
      // Chunks are never freed again, so the pointer only moves up: O(parts) over the whole job.
      let lowestFree = context.lowestFree;
      while (lowestFree < context.parts && blockListGet(chunks, lowestFree)!.status !== 'free') lowestFree++;
      enqueue.assign({
        ...arrive(context, event.invocation),
        chunks,
        lowestFree,
        counts: { ...context.counts, waiting: context.counts.waiting - 1, connected: context.counts.connected + 1 },
      });
      enqueue.emit({
        type: 'worker.admitted',
        connection: event.connection,
        chunk,
        ...(event.invocation === undefined ? {} : { invocation: event.invocation }),
      });
    }),
    rejectWorker: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'worker.hello') return;
      const verdict = rejection(context, event) ?? { reason: REJECT.noChunkLeft, arrival: true };
      if (verdict.arrival) enqueue.assign(arrive(context, event.invocation));
      enqueue.emit({ type: 'worker.rejected', connection: event.connection, reason: verdict.reason });
    }),
    recordFinished: assign(({ context, event }) => {
      if (event.type !== 'worker.finished') return {};
      const was = blockListGet(context.chunks, event.chunk) as Extract<ChunkRecord, { status: 'running' }>;
      return {
        chunks: blockListSet(context.chunks, event.chunk, { ...was, status: 'done' }),
        counts: { ...context.counts, connected: context.counts.connected - 1, done: context.counts.done + 1 },
      };
    }),
    recordFailed: assign(({ context, event }) => {
      if (event.type !== 'worker.failed') return {};
      const was = blockListGet(context.chunks, event.chunk) as Extract<ChunkRecord, { status: 'running' }>;
      return {
        chunks: blockListSet(context.chunks, event.chunk, { ...was, status: 'failed', reason: event.reason, state: event.state }),
        counts: { ...context.counts, connected: context.counts.connected - 1, failed: context.counts.failed + 1 },
      };
    }),
    recordLaunchAccepted: assign(({ context, event }) => {
      if (event.type !== 'launch.accepted') return {};
      return {
        invocations: blockListSet(context.invocations, event.invocation, 'accepted'),
        launches: { ...context.launches, pending: context.launches.pending - 1, accepted: context.launches.accepted + 1 },
      };
    }),
    recordLaunchFailed: assign(({ context, event }) => {
      if (event.type !== 'launch.failed') return {};
      const was = blockListGet(context.invocations, event.invocation);
      const launches = { ...context.launches, failed: context.launches.failed + 1 };
      if (was === 'pending') launches.pending--;
      else launches.accepted--;
      return {
        invocations: blockListSet(context.invocations, event.invocation, 'failed'),
        launches,
        launchFailures: [...context.launchFailures, { invocation: event.invocation, reason: event.reason }],
      };
    }),
    /** The launcher itself crashed: every launch it had not resolved has failed. */
    failPendingLaunches: assign(({ context, event }) => {
      const error = (event as { error?: unknown }).error;
      const reason = `launcher failed: ${error instanceof Error ? error.message : String(error)}`;
      const failures: Array<{ invocation: number; reason: string }> = [];
      const invocations = blockListMap(context.invocations, (status, invocation): InvocationStatus => {
        if (status !== 'pending') return status;
        failures.push({ invocation, reason });
        return 'failed';
      });
      return {
        invocations: blockListOf(invocations.length, (i) => invocations[i]!),
        launches: { ...context.launches, pending: 0, failed: context.launches.failed + failures.length },
        launchFailures: [...context.launchFailures, ...failures],
      };
    }),
    /** The arrival deadline passed: every launch whose worker has not said hello has failed. */
    failUnarrivedLaunches: assign(({ context }) => {
      const reason = `its worker did not connect within ${context.arrivalTimeoutMs} ms`;
      const failures: Array<{ invocation: number; reason: string }> = [];
      const invocations = blockListMap(context.invocations, (status, invocation): InvocationStatus => {
        if (status !== 'pending' && status !== 'accepted') return status;
        failures.push({ invocation, reason });
        return 'failed';
      });
      return {
        invocations: blockListOf(invocations.length, (i) => invocations[i]!),
        launches: { ...context.launches, pending: 0, accepted: 0, failed: context.launches.failed + failures.length },
        launchFailures: [...context.launchFailures, ...failures],
      };
    }),
    markKilled: assign({ killed: true }),
    markCancelled: assign({ cancelled: ({ event }) => (event.type === 'job.cancel' ? event.reason : 'cancelled') }),
    emitJobFinished: emit(({ context }) => ({ type: 'job.finished' as const, summary: summarize(context) })),
  },
  guards: {
    helloAdmissible: ({ context, event }) => event.type === 'worker.hello' && rejection(context, event) === undefined,
    holdsChunk: ({ context, event }) =>
      (event.type === 'worker.finished' || event.type === 'worker.failed') && holds(context, event.connection, event.chunk),
    launchUnresolved: ({ context, event }) => {
      if (event.type !== 'launch.accepted' && event.type !== 'launch.failed') return false;
      const status = blockListGet(context.invocations, event.invocation);
      return status === 'pending' || (event.type === 'launch.failed' && status === 'accepted');
    },
    jobOver: ({ context }) =>
      context.counts.connected === 0 && (context.counts.waiting === 0 || workersStillExpected(context) === 0),
    killTimeoutSet: ({ context }) => context.killAfterMs !== undefined,
    arrivalTimeoutSet: ({ context }) => context.arrivalTimeoutMs !== undefined,
  },
  delays: {
    killTimeout: ({ context }) => Math.min(context.killAfterMs ?? NEVER_MS, NEVER_MS),
    arrivalTimeout: ({ context }) => Math.min(context.arrivalTimeoutMs ?? NEVER_MS, NEVER_MS),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    parts: input.parts,
    spares: input.spares,
    killAfterMs: input.killAfterMs,
    arrivalTimeoutMs: input.arrivalTimeoutMs,
    chunks: blockListOf(input.parts, (): ChunkRecord => ({ status: 'free' })),
    invocations: blockListOf(input.parts + input.spares, (): InvocationStatus => 'pending'),
    lowestFree: 0,
    counts: { waiting: input.parts, connected: 0, done: 0, failed: 0 },
    launches: { pending: input.parts + input.spares, accepted: 0, failed: 0, arrived: 0 },
    anonymous: 0,
    launchFailures: [],
    killed: false,
    cancelled: undefined,
  }),
  initial: 'running',
  states: {
    running: {
      invoke: {
        id: 'launcher',
        src: 'launcher',
        input: ({ context }) => ({ invocations: Array.from({ length: context.parts + context.spares }, (_, i) => i) }),
        onError: { actions: 'failPendingLaunches' },
      },
      always: { guard: 'jobOver', target: 'over' },
      on: {
        'worker.hello': [{ guard: 'helloAdmissible', actions: 'admitWorker' }, { actions: 'rejectWorker' }],
        'worker.finished': { guard: 'holdsChunk', actions: 'recordFinished' },
        'worker.failed': { guard: 'holdsChunk', actions: 'recordFailed' },
        'launch.accepted': { guard: 'launchUnresolved', actions: 'recordLaunchAccepted' },
        'launch.failed': { guard: 'launchUnresolved', actions: 'recordLaunchFailed' },
        'job.cancel': { target: 'over', actions: 'markCancelled' },
      },
      after: {
        killTimeout: { guard: 'killTimeoutSet', target: 'over', actions: 'markKilled' },
        arrivalTimeout: { guard: 'arrivalTimeoutSet', actions: 'failUnarrivedLaunches' },
      },
    },
    over: { type: 'final', entry: 'emitJobFinished' },
  },
  output: ({ context }) => summarize(context),
});
