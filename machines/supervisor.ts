/**
 * The job's supervisor: launches workers through one pooled `launcher` actor, binds each worker
 * that says hello to a chunk, retries chunks whose attempt failed, sends a second worker after
 * stragglers, and decides when the job is over. Pure: the runtime provides the real launcher
 * (`.provide({ actors: { launcher } })`), forwards hellos and results as events, and acts on what
 * the supervisor emits.
 *
 * Contract with the runtime:
 * - launcher input `{ invocations }` (0 .. parts+spares-1 less skipped chunks); later the launcher
 *   receives `launch.request {invocation, chunk, kind}` (a retry or a speculative copy, with a
 *   fresh invocation number) and must launch that one too. It reports `launch.accepted
 *   {invocation}`, optionally `launch.started {invocation}` (the worker is running from now), or
 *   `launch.failed {invocation, reason}` per invocation; it is stopped when the job is over.
 * - `worker.hello {connection, invocation?}` -> emits `worker.admitted {connection, chunk}` (start a
 *   connection machine for that chunk) or `worker.rejected {connection, reason}` (send `quit:`).
 * - `worker.finished` / `worker.failed {reason}` when a connection machine ends (a reason no retry
 *   can change, see {@link permanentFailure}, fails the chunk for good). When one
 *   attempt of a chunk finishes, the chunk's other connected attempts are emitted as
 *   `worker.cancelled {connection, chunk, reason}` (send `quit:`, stop the machine).
 * - `arrivalTimeoutMs`: a worker not heard of this long after its launch was accepted (or, when
 *   the launcher says so, started) counts as a failed launch.
 * - `job.cancel {reason}` (Ctrl-C) ends the job at once; running and missing chunks carry the reason.
 * - emits `job.finished {summary}` and ends with the summary as output. Hellos arriving after
 *   that are the runtime's to refuse (reason {@link REJECT.jobOver}).
 * Binding: an invocation launched for a chunk (a retry or a copy) gets that chunk while its attempt
 * is live; invocation k < parts gets chunk k if still free; otherwise (spares, anonymous hellos,
 * chunk taken) the lowest free chunk. The job is over when every chunk is done, skipped or failed
 * for good, or when chunks still wait but nothing is running and no worker can still arrive, or
 * when `killAfterMs` has elapsed. While workers run it waits for them, so the summary says exactly
 * which chunks need a relaunch.
 * Time: the supervisor's clock (`nowMs`) is a tick it raises itself every `tickMs` (an XState
 * delay, so a `SimulatedClock` drives it in tests); arrival deadlines and attempt starts go into
 * queues in time order, so a tick looks only at their heads. Counts for a status display are
 * counters in the context (`counts`), O(1) to read; each event costs O(1) decisions (O(log n) for
 * the median) plus copying one block of the chunk or invocation table (`blockList.ts`).
 */
import { assign, emit, enqueueActions, fromCallback, raise, setup, type EventObject } from 'xstate';
import { blockListGet, blockListMap, blockListOf, blockListPush, blockListSet, type BlockList } from './blockList.js';
import { medianAdd, medianCount, medianOf, medianTrackerOf, type MedianTracker } from './medianTracker.js';
import { timeQueueOf, timeQueuePeek, timeQueuePop, timeQueuePush, type TimeQueue } from './timeQueue.js';
import { permanentFailure } from './permanentFailure.js';
import type { AttemptOutcome, ChunkOutcome, JobSummary, LauncherEvent, SupervisorEmitted, SupervisorEvent } from './events.js';

export interface SupervisorInput {
  /** Chunks 0 .. parts-1 (relative to the offset). */
  parts: number;
  /** Extra invocations parts .. parts+spares-1 that take the place of missing workers. */
  spares: number;
  /** End the job this long after it started, failing whatever still runs. */
  killAfterMs?: number;
  /**
   * A launched worker that has not said hello this long after its launch was accepted (or
   * started) counts as a failed launch (a Lambda worker that cannot reach us is never heard of
   * otherwise). Absent: wait.
   */
  arrivalTimeoutMs?: number;
  /**
   * More attempts the options allow a chunk after a failed one. It gets them only if the job is
   * redoable, and never after a permanent failure. Default 0.
   */
  retries?: number;
  /** The options allow a second worker after stragglers; it is sent only if the job allows it too. Default false. */
  speculation?: boolean;
  /** What the job allows of recovery, weighed here against `retries` and `speculation`. */
  job?: JobRecovery;
  /** A straggler runs (or waits for its worker) longer than this times the median chunk. Default 3. */
  stragglerFactor?: number;
  /** Finished chunks needed, besides half of them, before speculating. Default 3. */
  speculationMinDone?: number;
  /** Chunks whose outputs are already there (`--resume`): reported skipped, never launched. */
  skipped?: readonly number[];
  /** The supervisor's clock tick. Default 250 ms. */
  tickMs?: number;
}

/** What a job allows of recovery: the supervisor decides from it, so a job states facts, never retry counts. */
export interface JobRecovery {
  /**
   * A failed chunk may be redone alone by a new worker. Not so for chunks whose peers have already
   * sent it their state (relay jobs): their dependants fail instead, naming the state. Default true.
   */
  redoable?: boolean;
  /** Whether the job allows speculative copies of stragglers (its outputs are deterministic). Default true. */
  speculation?: boolean;
}

/** What the `launcher` actor is started with (it then receives {@link LauncherEvent}s). */
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

/** An attempt as the supervisor tracks it: an {@link AttemptOutcome} that may still be under way. */
type Attempt = Omit<AttemptOutcome, 'outcome'> & { outcome: 'launching' | 'running' | AttemptOutcome['outcome'] };

/**
 * `free`: no attempt yet (invocation k, a spare or an anonymous worker may take it); `waiting`: its
 * live attempts are launches still to say hello; `running`: at least one attempt is connected;
 * `failed`: for good (no attempt left).
 */
interface ChunkRecord {
  status: 'free' | 'waiting' | 'running' | 'done' | 'failed' | 'skipped';
  attempts: readonly Attempt[];
  retries: number;
  speculated: boolean;
}

type InvocationStatus = 'pending' | 'accepted' | 'failed' | 'arrived' | 'withdrawn' | 'unused';

/** `chunk`: the chunk it was launched for (retries, copies, and invocation k once chunk k has attempts). */
interface InvocationRecord {
  status: InvocationStatus;
  chunk?: number;
  startMs?: number;
}

/** An attempt to watch for straggling, from `sinceMs`: by invocation until it connects, else by connection. */
interface StragglerEntry {
  chunk: number;
  invocation?: number;
  connection?: number;
  sinceMs: number;
}

/** Attempts launched after the first (retries, speculative copies) and attempts cancelled because another won. */
export interface RecoveryCounts {
  retries: number;
  speculative: number;
  cancelled: number;
}

export interface SupervisorContext {
  parts: number;
  spares: number;
  killAfterMs: number | undefined;
  arrivalTimeoutMs: number | undefined;
  /** As decided from the options and the job: what this job's chunks actually get. */
  retries: number;
  speculation: boolean;
  stragglerFactor: number;
  speculationMinDone: number;
  tickMs: number;
  /** The supervisor's clock: ms since the job started, advanced by its tick. */
  nowMs: number;
  chunks: BlockList<ChunkRecord>;
  invocations: BlockList<InvocationRecord>;
  /** The lowest free chunk (`parts` when none is). */
  lowestFree: number;
  /** Chunks by status: free or waiting for a worker, connected (running), done, failed for good. */
  counts: { waiting: number; connected: number; done: number; failed: number };
  skipped: number;
  recovery: RecoveryCounts;
  /** Launches not yet resolved, and accepted ones whose worker has not said hello yet. */
  launches: { pending: number; accepted: number; failed: number; arrived: number };
  /** Hellos without an invocation number (workers started by hand). */
  anonymous: number;
  launchFailures: ReadonlyArray<{ invocation: number; reason: string }>;
  /** Accepted launches in the order their arrival deadlines started. */
  arrivals: TimeQueue<{ invocation: number; startMs: number }>;
  /** Live attempts in the order they started (only with speculation on). */
  stragglers: TimeQueue<StragglerEntry>;
  /** Durations of finished chunks (their winning attempt), kept only with speculation on. */
  durations: MedianTracker;
  /** The launcher crashed: nothing more can be launched. */
  launcherDown: boolean;
  /** What the last event has to send, until it is sent within the same macrostep. */
  outbox: Outbox | undefined;
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

/** More chunks waiting than workers that can still come, or one failed for good: the job cannot fully succeed. */
export function jobDoomed(context: SupervisorContext): boolean {
  return context.counts.failed > 0 || context.counts.waiting > workersStillExpected(context);
}

/** Straggler threshold in ms, once enough chunks have finished to trust the median; else undefined. */
export function stragglerThresholdMs(context: SupervisorContext): number | undefined {
  if (!context.speculation || context.launcherDown) return undefined;
  const finished = medianCount(context.durations);
  if (finished < context.speculationMinDone || 2 * context.counts.done < context.parts - context.skipped) return undefined;
  return context.stragglerFactor * medianOf(context.durations)!;
}

const isLive = (attempt: Attempt): boolean => attempt.outcome === 'launching' || attempt.outcome === 'running';
const isOpen = (record: ChunkRecord): boolean => record.status === 'free' || record.status === 'waiting' || record.status === 'running';

function chunkAt(context: SupervisorContext, chunk: number): ChunkRecord {
  return blockListGet(context.chunks, chunk)!;
}

/** Where a hello goes: a chunk (and the launching attempt it fulfils), or why it is refused. */
type Placement = { chunk: number; attempt?: number } | { reason: string; arrival: boolean };

function placement(context: SupervisorContext, event: HelloEvent): Placement {
  const { invocation } = event;
  if (invocation !== undefined) {
    const record = blockListGet(context.invocations, invocation);
    if (record === undefined || record.status === 'unused') return { reason: REJECT.unknown(invocation), arrival: false };
    if (record.status === 'arrived') return { reason: REJECT.duplicate(invocation), arrival: false };
    if (record.chunk !== undefined) {
      const chunk = chunkAt(context, record.chunk);
      const attempt = chunk.attempts.findIndex((a) => a.invocation === invocation && a.outcome === 'launching');
      if (attempt >= 0 && isOpen(chunk)) return { chunk: record.chunk, attempt };
    }
    if (invocation < context.parts && chunkAt(context, invocation).status === 'free') return { chunk: invocation };
  }
  return context.lowestFree < context.parts ? { chunk: context.lowestFree } : { reason: REJECT.noChunkLeft, arrival: true };
}

/**
 * One event's changes, made on a shallow copy of the context (whose tables are replaced, never
 * written), plus what to tell the launcher and the runtime. {@link changes} turns it into an
 * assignment; what it has to send waits in `outbox` for the `flushOutbox` step of the same
 * macrostep (an `enqueueActions` on every event cost more than all the rest of the event).
 */
interface Step {
  base: SupervisorContext;
  ctx: SupervisorContext;
  requests: LauncherEvent[];
  emitted: SupervisorEmitted[];
}

/** What a step sends when it is done: launch requests to the launcher actor, decisions to the runtime. */
export interface Outbox {
  requests: LauncherEvent[];
  emitted: SupervisorEmitted[];
}

const begin = (context: SupervisorContext): Step => ({ base: context, ctx: { ...context }, requests: [], emitted: [] });

/** Only what changed: XState copies the context once more and looks at every key it is given. */
function changes(step: Step): Partial<SupervisorContext> {
  const changed: Record<string, unknown> = {};
  for (const key of Object.keys(step.ctx) as Array<keyof SupervisorContext>) if (step.ctx[key] !== step.base[key]) changed[key] = step.ctx[key];
  if (step.requests.length > 0 || step.emitted.length > 0) changed['outbox'] = { requests: step.requests, emitted: step.emitted } satisfies Outbox;
  return changed as Partial<SupervisorContext>;
}

function setChunk(step: Step, chunk: number, record: ChunkRecord): void {
  const was = chunkAt(step.ctx, chunk);
  step.ctx.chunks = blockListSet(step.ctx.chunks, chunk, record);
  if (was.status !== record.status) {
    const counts = { ...step.ctx.counts };
    const bucket = (status: ChunkRecord['status']): keyof typeof counts | undefined =>
      status === 'free' || status === 'waiting' ? 'waiting' : status === 'running' ? 'connected' : status === 'skipped' ? undefined : status;
    const from = bucket(was.status);
    const to = bucket(record.status);
    if (from !== to) {
      if (from) counts[from]--;
      if (to) counts[to]++;
    }
    step.ctx.counts = counts;
  }
  // Chunks never become free again, so the pointer only moves up: O(parts) over the whole job.
  if (was.status === 'free' && chunk === step.ctx.lowestFree) {
    let lowest = chunk;
    while (lowest < step.ctx.parts && chunkAt(step.ctx, lowest).status !== 'free') lowest++;
    step.ctx.lowestFree = lowest;
  }
}

function setInvocation(step: Step, invocation: number, record: InvocationRecord): void {
  step.ctx.invocations = blockListSet(step.ctx.invocations, invocation, record);
}

function withAttempt(record: ChunkRecord, index: number, attempt: Attempt): ChunkRecord {
  const attempts = record.attempts.slice();
  attempts[index] = attempt;
  return { ...record, attempts };
}

/** Move an unresolved or accepted launch's counter to `to` (arrived, failed or withdrawn). */
function resolveLaunch(step: Step, invocation: number, to: 'arrived' | 'failed' | 'withdrawn'): void {
  const record = blockListGet(step.ctx.invocations, invocation)!;
  const launches = { ...step.ctx.launches };
  if (record.status === 'pending') launches.pending--;
  else if (record.status === 'accepted') launches.accepted--;
  else if (record.status === 'failed') launches.failed--; // reported failed, yet here: the worker is real
  else if (record.status !== 'withdrawn') return;
  if (to !== 'withdrawn') launches[to]++;
  step.ctx.launches = launches;
  setInvocation(step, invocation, { ...record, status: to });
}

/** Launch one more attempt of `chunk` with a fresh invocation number. */
function launchAttempt(step: Step, chunk: number, kind: 'retry' | 'speculative'): void {
  const invocation = step.ctx.invocations.length;
  step.ctx.invocations = blockListPush(step.ctx.invocations, { status: 'pending', chunk });
  step.ctx.launches = { ...step.ctx.launches, pending: step.ctx.launches.pending + 1 };
  const record = chunkAt(step.ctx, chunk);
  setChunk(step, chunk, {
    ...record,
    status: record.attempts.some((a) => a.outcome === 'running') ? 'running' : 'waiting',
    attempts: [...record.attempts, { kind, outcome: 'launching', invocation }],
    retries: record.retries + (kind === 'retry' ? 1 : 0),
    speculated: record.speculated || kind === 'speculative',
  });
  const recovery = { ...step.ctx.recovery };
  if (kind === 'retry') recovery.retries++;
  else recovery.speculative++;
  step.ctx.recovery = recovery;
  step.requests.push({ type: 'launch.request', invocation, chunk, kind });
}

/** Give chunk k's own invocation an attempt record, before the chunk gets another one. */
function claimFreeChunk(step: Step, chunk: number, attempt: Attempt): void {
  const record = chunkAt(step.ctx, chunk);
  setChunk(step, chunk, { ...record, status: 'waiting', attempts: [attempt] });
  const invocation = blockListGet(step.ctx.invocations, chunk)!;
  setInvocation(step, chunk, { ...invocation, chunk });
}

/** After one of its attempts failed: the chunk goes on with its live attempts, a retry, or fails for good. */
function settle(step: Step, chunk: number, retryable: boolean): void {
  const record = chunkAt(step.ctx, chunk);
  if (record.attempts.some((a) => a.outcome === 'running')) return setChunk(step, chunk, { ...record, status: 'running' });
  if (record.attempts.some((a) => a.outcome === 'launching')) return setChunk(step, chunk, { ...record, status: 'waiting' });
  if (retryable && record.retries < step.ctx.retries && !step.ctx.launcherDown) return launchAttempt(step, chunk, 'retry');
  setChunk(step, chunk, { ...record, status: 'failed' });
}

function failAttempt(step: Step, chunk: number, index: number, reason: string, state: string | undefined, retryable: boolean): void {
  const record = chunkAt(step.ctx, chunk);
  const attempt: Attempt = { ...record.attempts[index]!, outcome: 'failed', reason, endMs: step.ctx.nowMs };
  if (state !== undefined) attempt.state = state;
  setChunk(step, chunk, withAttempt(record, index, attempt));
  settle(step, chunk, retryable);
}

/** A launch failed or its worker never came: its attempt fails, and chunk k's own invocation may be retried. */
function failLaunch(step: Step, invocation: number, reason: string): void {
  const record = blockListGet(step.ctx.invocations, invocation)!;
  resolveLaunch(step, invocation, 'failed');
  step.ctx.launchFailures = [...step.ctx.launchFailures, { invocation, reason }];
  const why = `launch of invocation ${invocation} failed: ${reason}`;
  if (record.chunk !== undefined) {
    const index = chunkAt(step.ctx, record.chunk).attempts.findIndex((a) => a.invocation === invocation && a.outcome === 'launching');
    if (index >= 0) failAttempt(step, record.chunk, index, why, undefined, true);
    return;
  }
  // With retries off, a free chunk stays free for a spare (mu's behaviour).
  if (invocation >= step.ctx.parts || step.ctx.retries === 0 || step.ctx.launcherDown) return;
  if (chunkAt(step.ctx, invocation).status !== 'free') return;
  claimFreeChunk(step, invocation, { kind: 'first', outcome: 'failed', invocation, reason: why, ...startOf(record), endMs: step.ctx.nowMs });
  settle(step, invocation, true);
}

const startOf = (record: InvocationRecord | undefined): { startMs?: number } => (record?.startMs === undefined ? {} : { startMs: record.startMs });

/** An accepted or started launch: its arrival deadline and its straggler clock start now. */
function startLaunch(step: Step, invocation: number): void {
  const record = blockListGet(step.ctx.invocations, invocation)!;
  if (record.status === 'pending') step.ctx.launches = { ...step.ctx.launches, pending: step.ctx.launches.pending - 1, accepted: step.ctx.launches.accepted + 1 };
  const startMs = step.ctx.nowMs;
  setInvocation(step, invocation, { ...record, status: 'accepted', startMs });
  if (step.ctx.arrivalTimeoutMs !== undefined) step.ctx.arrivals = timeQueuePush(step.ctx.arrivals, { invocation, startMs });
  const chunk = record.chunk ?? (invocation < step.ctx.parts ? invocation : undefined);
  if (step.ctx.speculation && chunk !== undefined) step.ctx.stragglers = timeQueuePush(step.ctx.stragglers, { chunk, invocation, sinceMs: startMs });
}

function admit(step: Step, event: HelloEvent, where: { chunk: number; attempt?: number }): void {
  const { connection, invocation } = event;
  const { chunk } = where;
  const invocationRecord = invocation === undefined ? undefined : blockListGet(step.ctx.invocations, invocation);
  const record = chunkAt(step.ctx, chunk);
  let index = where.attempt;
  let attempts: Attempt[];
  if (index === undefined) {
    index = record.attempts.length;
    const startMs = invocationRecord?.startMs ?? step.ctx.nowMs;
    attempts = [...record.attempts, { kind: 'first', outcome: 'running', connection, ...(invocation === undefined ? {} : { invocation }), startMs }];
  } else {
    attempts = record.attempts.slice();
    const was = attempts[index]!;
    attempts[index] = { ...was, outcome: 'running', connection, startMs: was.startMs ?? invocationRecord?.startMs ?? step.ctx.nowMs };
  }
  setChunk(step, chunk, { ...record, status: 'running', attempts });
  if (invocation === undefined) step.ctx.anonymous++;
  else resolveLaunch(step, invocation, 'arrived');
  // Watched since its launch when that launch was for this chunk; otherwise from now, by connection.
  const watched = invocationRecord?.startMs !== undefined && (invocationRecord.chunk ?? invocation) === chunk;
  if (step.ctx.speculation && !watched) step.ctx.stragglers = timeQueuePush(step.ctx.stragglers, { chunk, connection, sinceMs: step.ctx.nowMs });
  step.emitted.push({
    type: 'worker.admitted',
    connection,
    chunk,
    ...(invocation === undefined ? {} : { invocation }),
    ...(index === 0 ? {} : { attempt: index + 1 }),
  });
}

function finish(step: Step, chunk: number, connection: number): void {
  const record = chunkAt(step.ctx, chunk);
  const { nowMs } = step.ctx;
  let cancelled = 0;
  const attempts = record.attempts.map((a): Attempt => {
    if (a.outcome === 'running' && a.connection === connection) return { ...a, outcome: 'done', endMs: nowMs };
    if (!isLive(a)) return a;
    cancelled++;
    const reason = `another attempt of chunk ${chunk} finished first (connection ${connection})`;
    if (a.outcome === 'running') step.emitted.push({ type: 'worker.cancelled', connection: a.connection!, chunk, reason });
    // A launch not yet heard of: its worker, if it comes, is refused or takes a free chunk.
    else if (a.invocation !== undefined) resolveLaunch(step, a.invocation, 'withdrawn');
    return { ...a, outcome: 'cancelled', reason, endMs: nowMs };
  });
  setChunk(step, chunk, { ...record, status: 'done', attempts });
  if (cancelled > 0) step.ctx.recovery = { ...step.ctx.recovery, cancelled: step.ctx.recovery.cancelled + cancelled };
  const winner = attempts.find((a) => a.outcome === 'done')!;
  if (step.ctx.speculation && winner.startMs !== undefined) step.ctx.durations = medianAdd(step.ctx.durations, nowMs - winner.startMs);
}

/** Whether a straggler entry still names a live attempt of an open chunk without a copy. */
function watching(context: SupervisorContext, entry: StragglerEntry): boolean {
  const record = chunkAt(context, entry.chunk);
  if (!isOpen(record) || record.speculated) return false;
  if (entry.connection !== undefined) return record.attempts.some((a) => a.outcome === 'running' && a.connection === entry.connection);
  const invocation = blockListGet(context.invocations, entry.invocation!)!;
  if (invocation.startMs !== entry.sinceMs) return false; // restarted (accepted, then started): a later entry watches it
  if (record.status === 'free') return invocation.status === 'accepted';
  return record.attempts.some((a) => a.invocation === entry.invocation && isLive(a));
}

function tick(step: Step): void {
  step.ctx.nowMs += step.ctx.tickMs;
  const { nowMs, arrivalTimeoutMs } = step.ctx;
  if (arrivalTimeoutMs !== undefined) {
    for (let head = timeQueuePeek(step.ctx.arrivals); head && head.startMs + arrivalTimeoutMs <= nowMs; head = timeQueuePeek(step.ctx.arrivals)) {
      step.ctx.arrivals = timeQueuePop(step.ctx.arrivals);
      const record = blockListGet(step.ctx.invocations, head.invocation)!;
      if (record.status === 'accepted' && record.startMs === head.startMs) failLaunch(step, head.invocation, `its worker did not connect within ${arrivalTimeoutMs} ms`);
    }
  }
  const threshold = stragglerThresholdMs(step.ctx);
  if (threshold === undefined) return;
  // Entries are in start order: the first one younger than the threshold ends the look.
  for (let head = timeQueuePeek(step.ctx.stragglers); head; head = timeQueuePeek(step.ctx.stragglers)) {
    const live = watching(step.ctx, head);
    if (live && nowMs - head.sinceMs <= threshold) break;
    step.ctx.stragglers = timeQueuePop(step.ctx.stragglers);
    if (!live) continue;
    if (chunkAt(step.ctx, head.chunk).status === 'free') {
      const invocation = blockListGet(step.ctx.invocations, head.chunk)!;
      claimFreeChunk(step, head.chunk, { kind: 'first', outcome: 'launching', invocation: head.chunk, ...startOf(invocation) });
    }
    launchAttempt(step, head.chunk, 'speculative');
  }
}

/** Every pending launch fails at once (the launcher crashed); nothing more is launched after. */
function failPending(step: Step, reason: string): void {
  step.ctx.launcherDown = true;
  const pending: number[] = [];
  blockListMap(step.ctx.invocations, (record, invocation) => record.status === 'pending' && pending.push(invocation));
  for (const invocation of pending) failLaunch(step, invocation, reason);
}

function endReason(context: SupervisorContext, running: boolean): string | undefined {
  if (context.cancelled !== undefined) {
    return running ? `cancelled while running (${context.cancelled})` : `no worker arrived before the job was cancelled (${context.cancelled})`;
  }
  if (context.killed) return running ? `killed: still running after ${context.killAfterMs} ms` : `no worker arrived before the kill timeout (${context.killAfterMs} ms)`;
  return undefined;
}

/** The attempts as reported: live ones end with the job (failed, or cancelled when the chunk was done anyway). */
function finalAttempts(context: SupervisorContext, record: ChunkRecord): AttemptOutcome[] {
  return record.attempts.map((a): AttemptOutcome => {
    const { outcome, ...rest } = a;
    if (outcome !== 'launching' && outcome !== 'running') return { ...rest, outcome };
    const reason = endReason(context, outcome === 'running') ?? 'no worker arrived';
    return { ...rest, outcome: 'failed', reason, endMs: context.nowMs };
  });
}

function joinReasons(attempts: AttemptOutcome[]): string {
  if (attempts.length === 1) return attempts[0]!.reason ?? 'unknown';
  return `${attempts.length} attempts: ${attempts.map((a, i) => `${i + 1}) ${a.reason ?? 'unknown'}`).join('; ')}`;
}

function summarize(context: SupervisorContext): JobSummary {
  const failedLaunch = new Map(context.launchFailures.map((f) => [f.invocation, f.reason]));
  const chunks = blockListMap(context.chunks, (record, chunk): ChunkOutcome => {
    const attempts = finalAttempts(context, record);
    switch (record.status) {
      case 'skipped':
        return { chunk, status: 'skipped', attempts };
      case 'free': {
        const launch = failedLaunch.get(chunk);
        const reason =
          endReason(context, false) ?? (launch !== undefined ? `no worker arrived (launch of invocation ${chunk} failed: ${launch})` : 'no worker arrived');
        return { chunk, status: 'missing', reason, attempts };
      }
      case 'done': {
        const winner = attempts.find((a) => a.outcome === 'done')!;
        return { chunk, status: 'done', ...who(winner), attempts };
      }
      default: {
        const connected = attempts.filter((a) => a.connection !== undefined);
        if (connected.length === 0) return { chunk, status: 'missing', reason: `no worker arrived (${joinReasons(attempts)})`, attempts };
        const last = connected.at(-1)!;
        const state = attempts.findLast((a) => a.state !== undefined)?.state;
        return { chunk, status: 'failed', reason: joinReasons(attempts), ...(state === undefined ? {} : { state }), ...who(last), attempts };
      }
    }
  });
  return { ok: chunks.every((c) => c.status === 'done' || c.status === 'skipped'), chunks, launchFailures: [...context.launchFailures] };
}

function who(attempt: AttemptOutcome): { connection?: number; invocation?: number } {
  return { ...(attempt.connection === undefined ? {} : { connection: attempt.connection }), ...(attempt.invocation === undefined ? {} : { invocation: attempt.invocation }) };
}

function initialContext(input: SupervisorInput): SupervisorContext {
  const skipped = new Set(input.skipped ?? []);
  for (const chunk of skipped) {
    if (!Number.isInteger(chunk) || chunk < 0 || chunk >= input.parts) throw new RangeError(`skipped chunk ${chunk} is not one of 0..${input.parts - 1}`);
  }
  const launched = input.parts + input.spares - skipped.size;
  // A chunk that cannot be redone alone gets neither a retry nor a copy, whatever the options ask.
  const redoable = input.job?.redoable !== false;
  let lowestFree = 0;
  while (skipped.has(lowestFree)) lowestFree++;
  return {
    parts: input.parts,
    spares: input.spares,
    killAfterMs: input.killAfterMs,
    arrivalTimeoutMs: input.arrivalTimeoutMs,
    retries: redoable ? (input.retries ?? 0) : 0,
    speculation: redoable && input.speculation === true && input.job?.speculation !== false,
    stragglerFactor: input.stragglerFactor ?? 3,
    speculationMinDone: input.speculationMinDone ?? 3,
    tickMs: input.tickMs ?? 250,
    nowMs: 0,
    chunks: blockListOf(input.parts, (chunk): ChunkRecord => ({ status: skipped.has(chunk) ? 'skipped' : 'free', attempts: [], retries: 0, speculated: false })),
    invocations: blockListOf(input.parts + input.spares, (invocation): InvocationRecord => ({ status: skipped.has(invocation) ? 'unused' : 'pending' })),
    lowestFree,
    counts: { waiting: input.parts - skipped.size, connected: 0, done: 0, failed: 0 },
    skipped: skipped.size,
    recovery: { retries: 0, speculative: 0, cancelled: 0 },
    launches: { pending: launched, accepted: 0, failed: 0, arrived: 0 },
    anonymous: 0,
    launchFailures: [],
    arrivals: timeQueueOf(),
    stragglers: timeQueueOf(),
    durations: medianTrackerOf(),
    launcherDown: false,
    outbox: undefined,
    killed: false,
    cancelled: undefined,
  };
}

const NEVER_MS = 2_147_483_647; // setTimeout's maximum; the guarded transition never fires

/**
 * @example
 * const supervisor = createActor(supervisorMachine.provide({ actors: { launcher } }), { input: { parts: 4, spares: 1, retries: 2, speculation: true } });
 * supervisor.on('worker.admitted', ({ connection, chunk }) => startConnectionMachine(connection, chunk));
 * supervisor.on('worker.cancelled', ({ connection }) => quit(connection));
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
    admitWorker: assign(({ context, event }) => {
      if (event.type !== 'worker.hello') return {};
      const where = placement(context, event);
      if (!('chunk' in where)) return {};
      const step = begin(context);
      admit(step, event, where);
      return changes(step);
    }),
    rejectWorker: assign(({ context, event }) => {
      if (event.type !== 'worker.hello') return {};
      const where = placement(context, event);
      const verdict = 'reason' in where ? where : { reason: REJECT.noChunkLeft, arrival: true };
      const step = begin(context);
      if (verdict.arrival) {
        if (event.invocation === undefined) step.ctx.anonymous++;
        else resolveLaunch(step, event.invocation, 'arrived');
      }
      step.emitted.push({ type: 'worker.rejected', connection: event.connection, reason: verdict.reason });
      return changes(step);
    }),
    recordFinished: assign(({ context, event }) => {
      if (event.type !== 'worker.finished') return {};
      const step = begin(context);
      finish(step, event.chunk, event.connection);
      return changes(step);
    }),
    recordFailed: assign(({ context, event }) => {
      if (event.type !== 'worker.failed') return {};
      const step = begin(context);
      const index = chunkAt(context, event.chunk).attempts.findIndex((a) => a.outcome === 'running' && a.connection === event.connection);
      failAttempt(step, event.chunk, index, event.reason, event.state, !permanentFailure(event.reason));
      return changes(step);
    }),
    recordLaunchStarted: assign(({ context, event }) => {
      if (event.type !== 'launch.accepted' && event.type !== 'launch.started') return {};
      const step = begin(context);
      startLaunch(step, event.invocation);
      return changes(step);
    }),
    recordLaunchFailed: assign(({ context, event }) => {
      if (event.type !== 'launch.failed') return {};
      const step = begin(context);
      failLaunch(step, event.invocation, event.reason);
      return changes(step);
    }),
    /** The launcher itself crashed: every launch it had not resolved has failed. */
    failPendingLaunches: assign(({ context, event }) => {
      const error = (event as { error?: unknown }).error;
      const step = begin(context);
      failPending(step, `launcher failed: ${error instanceof Error ? error.message : String(error)}`);
      return changes(step);
    }),
    onTick: assign(({ context }) => {
      const step = begin(context);
      tick(step);
      return changes(step);
    }),
    flushOutbox: enqueueActions(({ context, enqueue }) => {
      const { requests, emitted } = context.outbox!;
      enqueue.assign({ outbox: undefined });
      for (const request of requests) enqueue.sendTo('launcher', request);
      for (const event of emitted) enqueue.emit(event);
    }),
    scheduleTick: raise({ type: 'supervisor.tick' }, { delay: 'tick', id: 'supervisor.tick' }),
    markKilled: assign({ killed: true }),
    markCancelled: assign({ cancelled: ({ event }) => (event.type === 'job.cancel' ? event.reason : 'cancelled') }),
    emitJobFinished: emit(({ context }) => ({ type: 'job.finished' as const, summary: summarize(context) })),
  },
  guards: {
    helloAdmissible: ({ context, event }) => event.type === 'worker.hello' && 'chunk' in placement(context, event),
    holdsChunk: ({ context, event }) => {
      if (event.type !== 'worker.finished' && event.type !== 'worker.failed') return false;
      const record = blockListGet(context.chunks, event.chunk);
      return record?.status === 'running' && record.attempts.some((a) => a.outcome === 'running' && a.connection === event.connection);
    },
    launchUnresolved: ({ context, event }) => {
      if (event.type !== 'launch.accepted' && event.type !== 'launch.started' && event.type !== 'launch.failed') return false;
      const status = blockListGet(context.invocations, event.invocation)?.status;
      return status === 'pending' || (event.type !== 'launch.accepted' && status === 'accepted');
    },
    outboxFull: ({ context }) => context.outbox !== undefined,
    jobOver: ({ context }) =>
      context.counts.connected === 0 && (context.counts.waiting === 0 || workersStillExpected(context) === 0),
    killTimeoutSet: ({ context }) => context.killAfterMs !== undefined,
  },
  delays: {
    killTimeout: ({ context }) => Math.min(context.killAfterMs ?? NEVER_MS, NEVER_MS),
    tick: ({ context }) => context.tickMs,
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => initialContext(input),
  initial: 'running',
  states: {
    running: {
      entry: 'scheduleTick',
      invoke: {
        id: 'launcher',
        src: 'launcher',
        input: ({ context }) => ({
          invocations: blockListMap(context.invocations, (record, invocation) => (record.status === 'pending' ? invocation : -1)).filter((i) => i >= 0),
        }),
        onError: { actions: 'failPendingLaunches' },
      },
      always: [{ guard: 'outboxFull', actions: 'flushOutbox' }, { guard: 'jobOver', target: 'over' }],
      on: {
        'worker.hello': [{ guard: 'helloAdmissible', actions: 'admitWorker' }, { actions: 'rejectWorker' }],
        'worker.finished': { guard: 'holdsChunk', actions: 'recordFinished' },
        'worker.failed': { guard: 'holdsChunk', actions: 'recordFailed' },
        'launch.accepted': { guard: 'launchUnresolved', actions: 'recordLaunchStarted' },
        'launch.started': { guard: 'launchUnresolved', actions: 'recordLaunchStarted' },
        'launch.failed': { guard: 'launchUnresolved', actions: 'recordLaunchFailed' },
        'supervisor.tick': { actions: ['onTick', 'scheduleTick'] },
        'job.cancel': { target: 'over', actions: 'markCancelled' },
      },
      after: {
        killTimeout: { guard: 'killTimeoutSet', target: 'over', actions: 'markKilled' },
      },
    },
    over: { type: 'final', entry: 'emitJobFinished' },
  },
  output: ({ context }) => summarize(context),
});
