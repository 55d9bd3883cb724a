import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock, type EventObject } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { blockListMap } from '../machines/blockList.js';
import { REJECT, supervisorMachine, workersStillExpected, jobDoomed, type LauncherInput, type SupervisorInput } from '../machines/supervisor.js';
import type { LaunchEvent, LauncherEvent, SupervisorEmitted } from '../machines/events.js';

const TICK_MS = 250; // the supervisor's default tick

/** A supervisor with a launcher the test drives by hand, on a simulated clock. */
function startSupervisor(input: SupervisorInput, options: { launcherThrows?: string; launcherThrowsOnRequest?: string } = {}) {
  const clock = new SimulatedClock();
  const launcher = { input: undefined as LauncherInput | undefined, report: (_e: LaunchEvent) => {}, stopped: false, requests: [] as LauncherEvent[] };
  const logic = fromCallback<EventObject, LauncherInput>(({ input: launchInput, sendBack, receive }) => {
    if (options.launcherThrows) throw new Error(options.launcherThrows);
    launcher.input = launchInput;
    launcher.report = sendBack;
    receive((event) => {
      launcher.requests.push(event as LauncherEvent);
      if (options.launcherThrowsOnRequest) throw new Error(options.launcherThrowsOnRequest);
    });
    return () => {
      launcher.stopped = true;
    };
  });
  const actor = createActor(supervisorMachine.provide({ actors: { launcher: logic } }), { input, clock });
  const emitted: SupervisorEmitted[] = [];
  actor.on('*', (event) => emitted.push(event as SupervisorEmitted));
  let error: unknown;
  actor.subscribe({ error: (e) => (error = e) });
  actor.start();
  const decisions = () => emitted.filter((e) => e.type !== 'job.finished');
  return {
    actor,
    clock,
    launcher,
    emitted,
    get error() {
      return error;
    },
    /** Move the simulated clock on in steps of at most one tick, so that every tick fires on time. */
    advance(ms: number) {
      for (let left = ms; left > 0; left -= TICK_MS) clock.increment(Math.min(left, TICK_MS));
    },
    hello(connection: number, invocation?: number) {
      const before = emitted.length;
      actor.send({ type: 'worker.hello', connection, ...(invocation === undefined ? {} : { invocation }) });
      return emitted.slice(before).find((e) => e.type === 'worker.admitted' || e.type === 'worker.rejected');
    },
    decisions,
    get context() {
      return actor.getSnapshot().context;
    },
    get over() {
      return actor.getSnapshot().status === 'done';
    },
  };
}

describe('supervisor', () => {
  it('ends at once on job.cancel, reporting running and missing chunks with the reason', () => {
    const s = startSupervisor({ parts: 3, spares: 0 });
    s.hello(1, 0);
    s.hello(2, 1);
    s.actor.send({ type: 'worker.finished', connection: 1, chunk: 0 });
    s.actor.send({ type: 'job.cancel', reason: 'interrupted (SIGINT)' });
    expect(s.over).toBe(true);
    expect(s.launcher.stopped).toBe(true);
    const summary = s.actor.getSnapshot().output!;
    expect(summary.ok).toBe(false);
    expect(summary.chunks.map((c) => [c.status, c.reason])).toEqual([
      ['done', undefined],
      ['failed', 'cancelled while running (interrupted (SIGINT))'],
      ['missing', 'no worker arrived before the job was cancelled (interrupted (SIGINT))'],
    ]);
  });

  it('starts one launcher for every invocation, spares included', () => {
    const s = startSupervisor({ parts: 3, spares: 2 });
    expect(s.launcher.input).toEqual({ invocations: [0, 1, 2, 3, 4] });
    expect(s.context.counts).toEqual({ waiting: 3, connected: 0, done: 0, failed: 0 });
  });

  it('binds invocation k to chunk k, whatever order they arrive in', () => {
    const s = startSupervisor({ parts: 3, spares: 0 });
    expect(s.hello(10, 2)).toEqual({ type: 'worker.admitted', connection: 10, chunk: 2, invocation: 2 });
    expect(s.hello(11, 0)).toEqual({ type: 'worker.admitted', connection: 11, chunk: 0, invocation: 0 });
    expect(s.hello(12, 1)).toEqual({ type: 'worker.admitted', connection: 12, chunk: 1, invocation: 1 });
    expect(s.context.counts).toEqual({ waiting: 0, connected: 3, done: 0, failed: 0 });
  });

  it('gives spares and anonymous workers the lowest free chunk, and a displaced invocation the next one', () => {
    const s = startSupervisor({ parts: 3, spares: 2 });
    expect(s.hello(1, 4)).toMatchObject({ type: 'worker.admitted', chunk: 0 });
    expect(s.hello(2)).toMatchObject({ type: 'worker.admitted', chunk: 1 });
    expect(s.hello(3, 0)).toMatchObject({ type: 'worker.admitted', chunk: 2 });
    expect(s.hello(4, 2)).toEqual({ type: 'worker.rejected', connection: 4, reason: REJECT.noChunkLeft });
  });

  it('still finds free chunks below one taken out of order', () => {
    const s = startSupervisor({ parts: 3, spares: 2 });
    expect(s.hello(1, 2)).toMatchObject({ type: 'worker.admitted', chunk: 2 });
    expect(s.hello(2, 3)).toMatchObject({ type: 'worker.admitted', chunk: 0 });
    expect(s.hello(3, 4)).toMatchObject({ type: 'worker.admitted', chunk: 1 });
  });

  it('rejects a second hello from the same invocation and an invocation it never launched', () => {
    const s = startSupervisor({ parts: 2, spares: 0 });
    s.hello(1, 0);
    expect(s.hello(2, 0)).toEqual({ type: 'worker.rejected', connection: 2, reason: 'invocation 0 already connected' });
    expect(s.hello(3, 7)).toEqual({ type: 'worker.rejected', connection: 3, reason: 'unknown invocation 7' });
    expect(s.hello(4, -1)).toEqual({ type: 'worker.rejected', connection: 4, reason: 'unknown invocation -1' });
    // Neither counts as a worker arriving: invocation 1 is still expected, chunk 1 still free.
    expect(workersStillExpected(s.context)).toBe(1);
    expect(s.hello(5, 1)).toMatchObject({ type: 'worker.admitted', chunk: 1 });
  });

  it('finishes when every chunk is done, emits job.finished with the summary, and stops the launcher', () => {
    const s = startSupervisor({ parts: 2, spares: 1 });
    s.hello(7, 0);
    s.hello(8, 1);
    s.actor.send({ type: 'worker.finished', connection: 7, chunk: 0 });
    expect(s.over).toBe(false);
    s.actor.send({ type: 'worker.finished', connection: 8, chunk: 1 });
    expect(s.over).toBe(true);
    const summary = {
      ok: true,
      chunks: [
        { chunk: 0, status: 'done', connection: 7, invocation: 0, attempts: [{ kind: 'first', outcome: 'done', connection: 7, invocation: 0, startMs: 0, endMs: 0 }] },
        { chunk: 1, status: 'done', connection: 8, invocation: 1, attempts: [{ kind: 'first', outcome: 'done', connection: 8, invocation: 1, startMs: 0, endMs: 0 }] },
      ],
      launchFailures: [],
    };
    expect(s.actor.getSnapshot().output).toEqual(summary);
    expect(s.emitted.at(-1)).toEqual({ type: 'job.finished', summary });
    expect(s.launcher.stopped).toBe(true);
  });

  it('reports a failed worker with its reason and state, after the others have finished', () => {
    const s = startSupervisor({ parts: 2, spares: 0 });
    s.hello(1, 0);
    s.hello(2, 1);
    s.actor.send({ type: 'worker.failed', connection: 1, chunk: 0, reason: 'unexpected answer "FAIL(x)"', state: 'retrieveLoop.frame.run' });
    expect(s.over).toBe(false);
    expect(jobDoomed(s.context)).toBe(true);
    expect(s.context.counts).toEqual({ waiting: 0, connected: 1, done: 0, failed: 1 });
    s.actor.send({ type: 'worker.finished', connection: 2, chunk: 1 });
    expect(s.actor.getSnapshot().output).toEqual({
      ok: false,
      chunks: [
        {
          chunk: 0,
          status: 'failed',
          reason: 'unexpected answer "FAIL(x)"',
          state: 'retrieveLoop.frame.run',
          connection: 1,
          invocation: 0,
          attempts: [
            { kind: 'first', outcome: 'failed', connection: 1, invocation: 0, reason: 'unexpected answer "FAIL(x)"', state: 'retrieveLoop.frame.run', startMs: 0, endMs: 0 },
          ],
        },
        { chunk: 1, status: 'done', connection: 2, invocation: 1, attempts: [expect.objectContaining({ outcome: 'done' })] },
      ],
      launchFailures: [],
    });
  });

  it('ignores results from a connection that does not hold the chunk', () => {
    const s = startSupervisor({ parts: 1, spares: 0 });
    s.hello(1, 0);
    s.actor.send({ type: 'worker.finished', connection: 2, chunk: 0 });
    s.actor.send({ type: 'worker.failed', connection: 1, chunk: 5, reason: 'x', state: 'y' });
    expect(s.over).toBe(false);
    expect(s.context.counts).toEqual({ waiting: 0, connected: 1, done: 0, failed: 0 });
  });

  it('lets a spare take the chunk of a worker whose launch failed', () => {
    const s = startSupervisor({ parts: 2, spares: 1 });
    s.launcher.report({ type: 'launch.accepted', invocation: 0 });
    s.launcher.report({ type: 'launch.failed', invocation: 1, reason: 'throttled' });
    s.launcher.report({ type: 'launch.accepted', invocation: 2 });
    s.hello(1, 0);
    expect(s.hello(2, 2)).toMatchObject({ type: 'worker.admitted', chunk: 1, invocation: 2 });
    s.actor.send({ type: 'worker.finished', connection: 1, chunk: 0 });
    s.actor.send({ type: 'worker.finished', connection: 2, chunk: 1 });
    expect(s.actor.getSnapshot().output).toEqual({
      ok: true,
      chunks: [
        { chunk: 0, status: 'done', connection: 1, invocation: 0, attempts: [expect.objectContaining({ outcome: 'done', invocation: 0 })] },
        { chunk: 1, status: 'done', connection: 2, invocation: 2, attempts: [expect.objectContaining({ outcome: 'done', invocation: 2 })] },
      ],
      launchFailures: [{ invocation: 1, reason: 'throttled' }],
    });
  });

  it('ends as soon as no worker can come for the chunks still free, naming the failed launch', () => {
    const s = startSupervisor({ parts: 3, spares: 0 });
    s.launcher.report({ type: 'launch.accepted', invocation: 0 });
    s.launcher.report({ type: 'launch.failed', invocation: 1, reason: 'spawn ENOENT' });
    s.hello(1, 0);
    s.actor.send({ type: 'worker.finished', connection: 1, chunk: 0 });
    expect(s.over).toBe(false); // invocation 2 is still pending
    s.launcher.report({ type: 'launch.failed', invocation: 2, reason: 'throttled' });
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output).toEqual({
      ok: false,
      chunks: [
        { chunk: 0, status: 'done', connection: 1, invocation: 0, attempts: [expect.objectContaining({ outcome: 'done' })] },
        { chunk: 1, status: 'missing', reason: 'no worker arrived (launch of invocation 1 failed: spawn ENOENT)', attempts: [] },
        { chunk: 2, status: 'missing', reason: 'no worker arrived (launch of invocation 2 failed: throttled)', attempts: [] },
      ],
      launchFailures: [
        { invocation: 1, reason: 'spawn ENOENT' },
        { invocation: 2, reason: 'throttled' },
      ],
    });
  });

  it('fails every unresolved launch when the launcher itself crashes', () => {
    const s = startSupervisor({ parts: 2, spares: 0 }, { launcherThrows: 'no credentials' });
    expect(s.error).toBeUndefined();
    expect(s.over).toBe(true);
    const output = s.actor.getSnapshot().output!;
    expect(output.ok).toBe(false);
    expect(output.launchFailures).toEqual([
      { invocation: 0, reason: 'launcher failed: no credentials' },
      { invocation: 1, reason: 'launcher failed: no credentials' },
    ]);
  });

  it('keeps counting right when a worker says hello before its launch is reported accepted', () => {
    const s = startSupervisor({ parts: 1, spares: 0 });
    s.hello(1, 0);
    s.launcher.report({ type: 'launch.accepted', invocation: 0 });
    s.launcher.report({ type: 'launch.failed', invocation: 0, reason: 'late noise' });
    expect(s.context.launches).toEqual({ pending: 0, accepted: 0, failed: 0, arrived: 1 });
    expect(s.context.launchFailures).toEqual([]);
    s.actor.send({ type: 'worker.finished', connection: 1, chunk: 0 });
    expect(s.actor.getSnapshot().output?.ok).toBe(true);
  });

  it('kills the job after killAfterMs: running chunks fail, free ones are missing', () => {
    const s = startSupervisor({ parts: 2, spares: 0, killAfterMs: 10_000 });
    s.launcher.report({ type: 'launch.accepted', invocation: 0 });
    s.launcher.report({ type: 'launch.accepted', invocation: 1 });
    s.hello(1, 0);
    s.advance(9_999);
    expect(s.over).toBe(false);
    s.advance(1);
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output).toEqual({
      ok: false,
      chunks: [
        {
          chunk: 0,
          status: 'failed',
          reason: 'killed: still running after 10000 ms',
          connection: 1,
          invocation: 0,
          attempts: [expect.objectContaining({ kind: 'first', outcome: 'failed', connection: 1, reason: 'killed: still running after 10000 ms', startMs: 0 })],
        },
        { chunk: 1, status: 'missing', reason: 'no worker arrived before the kill timeout (10000 ms)', attempts: [] },
      ],
      launchFailures: [],
    });
    expect(s.launcher.stopped).toBe(true);
  });

  it('after arrivalTimeoutMs, launches never heard of fail; running chunks carry on to the end', () => {
    const s = startSupervisor({ parts: 3, spares: 0, arrivalTimeoutMs: 5_000 });
    for (const invocation of [0, 1, 2]) s.launcher.report({ type: 'launch.accepted', invocation });
    s.hello(1, 0);
    s.advance(4_999);
    expect(s.context.launchFailures).toEqual([]);
    s.advance(1);
    expect(s.over).toBe(false);
    expect(s.context.launchFailures.map((f) => f.invocation)).toEqual([1, 2]);
    s.actor.send({ type: 'worker.finished', connection: 1, chunk: 0 });
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output!.chunks.map((c) => [c.status, c.reason])).toEqual([
      ['done', undefined],
      ['missing', 'no worker arrived (launch of invocation 1 failed: its worker did not connect within 5000 ms)'],
      ['missing', 'no worker arrived (launch of invocation 2 failed: its worker did not connect within 5000 ms)'],
    ]);
  });

  it('admits a worker that arrives after its launch was given up, if its chunk is still free', () => {
    const s = startSupervisor({ parts: 2, spares: 0, arrivalTimeoutMs: 5_000 });
    for (const invocation of [0, 1]) s.launcher.report({ type: 'launch.accepted', invocation });
    s.hello(1, 0);
    s.advance(5_000);
    expect(s.hello(2, 1)).toMatchObject({ type: 'worker.admitted', chunk: 1 });
  });

  it('waits indefinitely for accepted workers without a kill timeout', () => {
    const s = startSupervisor({ parts: 1, spares: 0 });
    s.launcher.report({ type: 'launch.accepted', invocation: 0 });
    s.clock.increment(3_000_000_000);
    expect(s.over).toBe(false);
    expect(s.hello(1, 0)).toMatchObject({ type: 'worker.admitted', chunk: 0 });
  });

  it('counts anonymous workers (started by hand) against the expected arrivals', () => {
    const s = startSupervisor({ parts: 2, spares: 1 });
    for (const invocation of [0, 1, 2]) s.launcher.report({ type: 'launch.accepted', invocation });
    expect(s.hello(1)).toMatchObject({ type: 'worker.admitted', chunk: 0 });
    expect(s.hello(2)).toMatchObject({ type: 'worker.admitted', chunk: 1 });
    expect(s.hello(3)).toMatchObject({ type: 'worker.rejected', reason: REJECT.noChunkLeft });
    expect(workersStillExpected(s.context)).toBe(0);
    s.actor.send({ type: 'worker.failed', connection: 1, chunk: 0, reason: 'r', state: 's' });
    s.actor.send({ type: 'worker.finished', connection: 2, chunk: 1 });
    expect(s.over).toBe(true);
  });
});

describe('supervisor, every shortest path (xstate/graph)', () => {
  it('never binds a chunk twice, and its summary agrees with its counters', () => {
    const events = [
      ...[0, 1, 2].flatMap((invocation) => [
        { type: 'launch.accepted' as const, invocation },
        { type: 'launch.failed' as const, invocation, reason: 'r' },
        { type: 'worker.hello' as const, connection: invocation, invocation },
      ]),
      ...[0, 1, 2].flatMap((connection) =>
        [0, 1].flatMap((chunk) => [
          { type: 'worker.finished' as const, connection, chunk },
          { type: 'worker.failed' as const, connection, chunk, reason: 'r', state: 's' },
        ]),
      ),
    ];
    const paths = getShortestPaths(supervisorMachine, {
      input: { parts: 2, spares: 1 },
      events: (snapshot) => (snapshot.status === 'active' ? events : []),
      // When a launch began changes no binding: states that differ only in it are one state here.
      serializeState: (snapshot) => `${snapshot.status} ${JSON.stringify(snapshot.context, (key, value: unknown) => (key === 'startMs' ? undefined : value))}`,
    });
    expect(paths.length).toBeGreaterThan(50);
    let finished = 0;
    for (const { state } of paths) {
      const { counts } = state.context;
      const chunks = blockListMap(state.context.chunks, (c) => c);
      const running = chunks.filter((c) => c.status === 'running');
      const connections = running.flatMap((c) => c.attempts.filter((a) => a.outcome === 'running').map((a) => a.connection));
      expect(new Set(connections).size).toBe(running.length);
      expect(connections).toHaveLength(running.length);
      expect(counts.connected).toBe(running.length);
      expect(counts.waiting).toBe(chunks.filter((c) => c.status === 'free').length);
      if (state.status === 'done') {
        finished++;
        const output = state.output!;
        expect(output.ok).toBe(output.chunks.every((c) => c.status === 'done'));
        expect(output.chunks.filter((c) => c.status === 'done').length).toBe(counts.done);
      }
    }
    expect(finished).toBeGreaterThan(0);
  });
});

describe('supervisor recovery: retries', () => {
  it('gives a chunk whose worker failed a new invocation bound to it, which wins', () => {
    const s = startSupervisor({ parts: 2, spares: 0, retries: 2 });
    for (const invocation of [0, 1]) s.launcher.report({ type: 'launch.accepted', invocation });
    s.hello(1, 0);
    s.hello(2, 1);
    s.advance(1_000);
    s.actor.send({ type: 'worker.failed', connection: 1, chunk: 0, reason: 'connection lost: socket closed', state: 'retrieveLoop' });
    expect(s.launcher.requests).toEqual([{ type: 'launch.request', invocation: 2, chunk: 0, kind: 'retry' }]);
    expect(s.context.counts).toEqual({ waiting: 1, connected: 1, done: 0, failed: 0 });
    expect(s.over).toBe(false);
    s.launcher.report({ type: 'launch.accepted', invocation: 2 });
    // The retry's invocation goes to its chunk even though chunk 0 is not free for anyone else.
    expect(s.hello(3)).toMatchObject({ type: 'worker.rejected', reason: REJECT.noChunkLeft });
    expect(s.hello(4, 2)).toEqual({ type: 'worker.admitted', connection: 4, chunk: 0, invocation: 2, attempt: 2 });
    s.advance(500);
    s.actor.send({ type: 'worker.finished', connection: 4, chunk: 0 });
    s.actor.send({ type: 'worker.finished', connection: 2, chunk: 1 });
    const output = s.actor.getSnapshot().output!;
    expect(output.ok).toBe(true);
    expect(output.chunks[0]).toEqual({
      chunk: 0,
      status: 'done',
      connection: 4,
      invocation: 2,
      attempts: [
        { kind: 'first', outcome: 'failed', invocation: 0, connection: 1, reason: 'connection lost: socket closed', state: 'retrieveLoop', startMs: 0, endMs: 1_000 },
        { kind: 'retry', outcome: 'done', invocation: 2, connection: 4, startMs: 1_000, endMs: 1_500 },
      ],
    });
    expect(s.context.recovery).toEqual({ retries: 1, speculative: 0, cancelled: 0 });
  });

  it('fails a chunk for good after `retries` more attempts, naming every reason', () => {
    const s = startSupervisor({ parts: 1, spares: 0, retries: 1 });
    s.hello(1, 0);
    s.actor.send({ type: 'worker.failed', connection: 1, chunk: 0, reason: 'answer timeout', state: 'configure' });
    s.hello(2, 1);
    s.actor.send({ type: 'worker.failed', connection: 2, chunk: 0, reason: 'unexpected answer "FAIL(x)"', state: 'upload' });
    expect(s.launcher.requests).toHaveLength(1);
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output!.chunks[0]).toMatchObject({
      status: 'failed',
      reason: '2 attempts: 1) answer timeout; 2) unexpected answer "FAIL(x)"',
      state: 'upload',
      connection: 2,
      invocation: 1,
    });
  });

  it('gives no retry to a chunk of a job that is not redoable, even with retries asked for', () => {
    const s = startSupervisor({ parts: 2, spares: 0, retries: 3, job: { redoable: false } });
    s.hello(1, 0);
    s.hello(2, 1);
    s.actor.send({ type: 'worker.failed', connection: 1, chunk: 0, reason: 'connection lost', state: 'retrieve' });
    s.launcher.report({ type: 'launch.failed', invocation: 1, reason: 'throttled' });
    expect(s.launcher.requests).toEqual([]);
    s.actor.send({ type: 'worker.finished', connection: 2, chunk: 1 });
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output!.chunks[0]).toMatchObject({ status: 'failed', reason: 'connection lost' });
  });

  it('does not retry a failure no retry can change (an input missing from the store, a variable refused), but retries other FAILs', () => {
    const missing = 'unexpected answer "FAIL(retrieving b/VIDEO/00000001.png->1.png: NoSuchKey: no such key)" in state retrieve, expected "OK:RETRIEVE"';
    const refused = 'unexpected answer "FAIL(no such variable inkey)" in state configure, expected "OK:SET"';
    const transient = 'unexpected answer "FAIL(upload failed: connection reset)" in state upload, expected "OK:UPLOAD"';
    const s = startSupervisor({ parts: 3, spares: 0, retries: 2 });
    s.hello(1, 0);
    s.hello(2, 1);
    s.hello(3, 2);
    s.actor.send({ type: 'worker.failed', connection: 1, chunk: 0, reason: missing, state: 'retrieve' });
    s.actor.send({ type: 'worker.failed', connection: 2, chunk: 1, reason: refused, state: 'configure' });
    expect(s.launcher.requests).toEqual([]);
    s.actor.send({ type: 'worker.failed', connection: 3, chunk: 2, reason: transient, state: 'upload' });
    expect(s.launcher.requests).toEqual([{ type: 'launch.request', invocation: 3, chunk: 2, kind: 'retry' }]);
    s.hello(4, 3);
    s.actor.send({ type: 'worker.finished', connection: 4, chunk: 2 });
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output!.chunks.map((c) => [c.status, c.reason])).toEqual([
      ['failed', missing],
      ['failed', refused],
      ['done', undefined],
    ]);
  });

  it('retries a chunk whose launch failed or whose worker never arrived, then reports it missing with each reason', () => {
    const s = startSupervisor({ parts: 2, spares: 0, retries: 2, arrivalTimeoutMs: 1_000 });
    s.launcher.report({ type: 'launch.accepted', invocation: 0 });
    s.hello(1, 0);
    s.launcher.report({ type: 'launch.failed', invocation: 1, reason: 'throttled' });
    expect(s.launcher.requests).toEqual([{ type: 'launch.request', invocation: 2, chunk: 1, kind: 'retry' }]);
    s.launcher.report({ type: 'launch.accepted', invocation: 2 });
    s.advance(1_000);
    expect(s.launcher.requests.at(-1)).toEqual({ type: 'launch.request', invocation: 3, chunk: 1, kind: 'retry' });
    s.launcher.report({ type: 'launch.failed', invocation: 3, reason: 'spawn EAGAIN' });
    expect(s.launcher.requests).toHaveLength(2);
    s.actor.send({ type: 'worker.finished', connection: 1, chunk: 0 });
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output!.chunks[1]).toMatchObject({
      status: 'missing',
      reason:
        'no worker arrived (3 attempts: 1) launch of invocation 1 failed: throttled; 2) launch of invocation 2 failed: its worker did not connect within 1000 ms; ' +
        '3) launch of invocation 3 failed: spawn EAGAIN)',
    });
  });

  it('with retries off, leaves a chunk whose launch failed free for a spare (mu)', () => {
    const s = startSupervisor({ parts: 1, spares: 1 });
    s.launcher.report({ type: 'launch.failed', invocation: 0, reason: 'throttled' });
    expect(s.launcher.requests).toEqual([]);
    expect(s.hello(1, 1)).toMatchObject({ type: 'worker.admitted', chunk: 0, invocation: 1 });
  });

  it('launches nothing more once the launcher itself has crashed', () => {
    const s = startSupervisor({ parts: 2, spares: 0, retries: 2 }, { launcherThrows: 'no credentials' });
    expect(s.over).toBe(true);
    expect(s.launcher.requests).toEqual([]);
    expect(s.actor.getSnapshot().output!.chunks.map((c) => c.status)).toEqual(['missing', 'missing']);
    // Crashing on a retry's request fails that retry for good instead of asking the dead launcher again.
    const late = startSupervisor({ parts: 1, spares: 0, retries: 2 }, { launcherThrowsOnRequest: 'socket hang up' });
    late.hello(1, 0);
    late.actor.send({ type: 'worker.failed', connection: 1, chunk: 0, reason: 'connection lost', state: 'configure' });
    expect(late.error).toBeUndefined();
    expect(late.over).toBe(true);
    expect(late.launcher.requests).toHaveLength(1);
    expect(late.actor.getSnapshot().output!.chunks[0]).toMatchObject({
      status: 'failed',
      reason: '2 attempts: 1) connection lost; 2) launch of invocation 1 failed: launcher failed: socket hang up',
    });
  });
});

describe('supervisor recovery: arrival deadlines per invocation', () => {
  it('counts each worker from its own start, so workers queued in a pool are not given up', () => {
    const s = startSupervisor({ parts: 2, spares: 0, arrivalTimeoutMs: 5_000 });
    s.launcher.report({ type: 'launch.accepted', invocation: 0 });
    s.advance(4_000);
    s.launcher.report({ type: 'launch.accepted', invocation: 1 });
    s.advance(1_000);
    expect(s.context.launchFailures.map((f) => f.invocation)).toEqual([0]);
    s.advance(3_750);
    expect(s.context.launchFailures.map((f) => f.invocation)).toEqual([0]);
    s.advance(250);
    expect(s.context.launchFailures.map((f) => f.invocation)).toEqual([0, 1]);
  });

  it('restarts the deadline when the launcher reports the worker started after accepting it', () => {
    const s = startSupervisor({ parts: 1, spares: 0, arrivalTimeoutMs: 5_000 });
    s.launcher.report({ type: 'launch.accepted', invocation: 0 });
    s.advance(3_000);
    s.launcher.report({ type: 'launch.started', invocation: 0 });
    s.advance(4_750);
    expect(s.context.launchFailures).toEqual([]);
    s.advance(250);
    expect(s.context.launchFailures).toEqual([{ invocation: 0, reason: 'its worker did not connect within 5000 ms' }]);
    expect(s.over).toBe(true);
  });

  it('never gives up a launch still pending (waiting for a slot in the launcher)', () => {
    const s = startSupervisor({ parts: 1, spares: 0, arrivalTimeoutMs: 1_000 });
    s.advance(10_000);
    expect(s.context.launchFailures).toEqual([]);
    expect(s.over).toBe(false);
  });
});

describe('supervisor recovery: speculative copies of stragglers', () => {
  /** parts chunks accepted at 0; chunks 0..finished-1 connect and finish at 1 s, the rest connect and run on. */
  function withStraggler(input: Partial<SupervisorInput> & { parts: number }, finished: number) {
    const s = startSupervisor({ spares: 0, speculation: true, ...input });
    for (let i = 0; i < input.parts; i++) s.launcher.report({ type: 'launch.accepted', invocation: i });
    for (let i = 0; i < input.parts; i++) s.hello(100 + i, i);
    s.advance(1_000);
    for (let i = 0; i < finished; i++) s.actor.send({ type: 'worker.finished', connection: 100 + i, chunk: i });
    return s;
  }

  it('sends a second worker after a chunk running longer than factor x the median, and the first to finish wins', () => {
    const s = withStraggler({ parts: 4 }, 3);
    s.advance(2_000); // 3000 ms: not longer than 3 x 1000 ms
    expect(s.launcher.requests).toEqual([]);
    s.advance(250);
    expect(s.launcher.requests).toEqual([{ type: 'launch.request', invocation: 4, chunk: 3, kind: 'speculative' }]);
    s.advance(10_000);
    expect(s.launcher.requests).toHaveLength(1); // one copy per chunk
    s.launcher.report({ type: 'launch.accepted', invocation: 4 });
    expect(s.hello(200, 4)).toEqual({ type: 'worker.admitted', connection: 200, chunk: 3, invocation: 4, attempt: 2 });
    expect(s.context.counts).toEqual({ waiting: 0, connected: 1, done: 3, failed: 0 });
    s.actor.send({ type: 'worker.finished', connection: 200, chunk: 3 });
    expect(s.emitted).toContainEqual({ type: 'worker.cancelled', connection: 103, chunk: 3, reason: 'another attempt of chunk 3 finished first (connection 200)' });
    // That was the last chunk: the job is over (the straggler, cancelled, reports nothing more).
    expect(s.over).toBe(true);
    const output = s.actor.getSnapshot().output!;
    expect(output.ok).toBe(true);
    expect(output.chunks[3]).toMatchObject({ status: 'done', connection: 200, invocation: 4 });
    expect(output.chunks[3]!.attempts.map((a) => [a.kind, a.outcome, a.invocation])).toEqual([
      ['first', 'cancelled', 3],
      ['speculative', 'done', 4],
    ]);
    expect(s.context.recovery).toEqual({ retries: 0, speculative: 1, cancelled: 1 });
  });

  it('keeps the straggler if it finishes first, and refuses the copy that comes too late', () => {
    const s = withStraggler({ parts: 4 }, 3);
    s.advance(2_250);
    expect(s.launcher.requests).toHaveLength(1);
    s.actor.send({ type: 'worker.finished', connection: 103, chunk: 3 });
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output!.chunks[3]!.attempts.map((a) => [a.kind, a.outcome])).toEqual([
      ['first', 'done'],
      ['speculative', 'cancelled'],
    ]);
    expect(s.emitted.some((e) => e.type === 'worker.cancelled')).toBe(false);
  });

  it('waits for half of the chunks, and at least speculationMinDone, before trusting the median', () => {
    const s = withStraggler({ parts: 8 }, 3);
    s.advance(60_000);
    expect(s.launcher.requests).toEqual([]);
    const few = withStraggler({ parts: 4, speculationMinDone: 4 }, 3);
    few.advance(60_000);
    expect(few.launcher.requests).toEqual([]);
  });

  it('does nothing with speculation off, and honours stragglerFactor', () => {
    const off = withStraggler({ parts: 4, speculation: false }, 3);
    off.advance(60_000);
    expect(off.launcher.requests).toEqual([]);
    const quick = withStraggler({ parts: 4, stragglerFactor: 1.5 }, 3);
    quick.advance(500); // 1500 ms
    expect(quick.launcher.requests).toEqual([]);
    quick.advance(250);
    expect(quick.launcher.requests).toHaveLength(1);
  });

  it('copies a chunk still waiting for its worker, and still admits the original if it arrives', () => {
    const s = startSupervisor({ parts: 4, spares: 0, speculation: true });
    for (let i = 0; i < 4; i++) s.launcher.report({ type: 'launch.accepted', invocation: i });
    for (let i = 0; i < 3; i++) s.hello(100 + i, i);
    s.advance(1_000);
    for (let i = 0; i < 3; i++) s.actor.send({ type: 'worker.finished', connection: 100 + i, chunk: i });
    s.advance(2_250);
    expect(s.launcher.requests).toEqual([{ type: 'launch.request', invocation: 4, chunk: 3, kind: 'speculative' }]);
    expect(s.hello(103, 3)).toMatchObject({ type: 'worker.admitted', chunk: 3, invocation: 3 });
    expect(s.hello(200, 4)).toMatchObject({ type: 'worker.admitted', chunk: 3, invocation: 4, attempt: 2 });
    s.actor.send({ type: 'worker.finished', connection: 103, chunk: 3 });
    expect(s.emitted).toContainEqual(expect.objectContaining({ type: 'worker.cancelled', connection: 200, chunk: 3 }));
    expect(s.actor.getSnapshot().output!.ok).toBe(true);
  });

  it('gives a job that is not redoable no speculative copies and no retries, even with both asked for', () => {
    const s = withStraggler({ parts: 4, retries: 2, job: { redoable: false } }, 3);
    s.advance(60_000);
    expect(s.launcher.requests).toEqual([]);
    s.actor.send({ type: 'worker.failed', connection: 103, chunk: 3, reason: 'connection lost', state: 'retrieveLoop' });
    expect(s.launcher.requests).toEqual([]);
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output!.chunks[3]).toMatchObject({ status: 'failed', reason: 'connection lost' });
    expect(s.context.recovery).toEqual({ retries: 0, speculative: 0, cancelled: 0 });
  });

  it('gives a job that forbids speculation no copies, but still its retries', () => {
    const s = withStraggler({ parts: 4, retries: 1, job: { speculation: false } }, 3);
    s.advance(60_000);
    expect(s.launcher.requests).toEqual([]);
    s.actor.send({ type: 'worker.failed', connection: 103, chunk: 3, reason: 'connection lost', state: 'retrieveLoop' });
    expect(s.launcher.requests).toEqual([{ type: 'launch.request', invocation: 4, chunk: 3, kind: 'retry' }]);
    const allowed = withStraggler({ parts: 4, job: { redoable: true, speculation: true } }, 3);
    allowed.advance(2_250);
    expect(allowed.launcher.requests).toEqual([{ type: 'launch.request', invocation: 4, chunk: 3, kind: 'speculative' }]);
  });

  it('does not retry a straggler that fails while its copy still runs', () => {
    const s = withStraggler({ parts: 4, retries: 2 }, 3);
    s.advance(2_250);
    s.hello(200, 4);
    s.actor.send({ type: 'worker.failed', connection: 103, chunk: 3, reason: 'connection lost', state: 'retrieveLoop' });
    expect(s.launcher.requests).toHaveLength(1);
    expect(s.context.counts).toEqual({ waiting: 0, connected: 1, done: 3, failed: 0 });
    s.actor.send({ type: 'worker.finished', connection: 200, chunk: 3 });
    expect(s.actor.getSnapshot().output!.chunks[3]!.attempts.map((a) => a.outcome)).toEqual(['failed', 'done']);
  });
});

describe('supervisor recovery: resume', () => {
  it('reports skipped chunks as such and never launches them', () => {
    const s = startSupervisor({ parts: 3, spares: 1, skipped: [0, 2] });
    expect(s.launcher.input).toEqual({ invocations: [1, 3] });
    expect(s.context.counts).toEqual({ waiting: 1, connected: 0, done: 0, failed: 0 });
    expect(s.hello(1, 0)).toEqual({ type: 'worker.rejected', connection: 1, reason: REJECT.unknown(0) });
    expect(s.hello(2, 3)).toMatchObject({ type: 'worker.admitted', chunk: 1 });
    s.actor.send({ type: 'worker.finished', connection: 2, chunk: 1 });
    expect(s.actor.getSnapshot().output).toEqual({
      ok: true,
      chunks: [
        { chunk: 0, status: 'skipped', attempts: [] },
        { chunk: 1, status: 'done', connection: 2, invocation: 3, attempts: [expect.objectContaining({ outcome: 'done' })] },
        { chunk: 2, status: 'skipped', attempts: [] },
      ],
      launchFailures: [],
    });
  });

  it('is over at once when every chunk was skipped', () => {
    const s = startSupervisor({ parts: 2, spares: 0, skipped: [0, 1] });
    expect(s.over).toBe(true);
    expect(s.actor.getSnapshot().output!.ok).toBe(true);
  });

  it('refuses a skipped chunk outside the job', () => {
    const actor = createActor(supervisorMachine, { input: { parts: 2, spares: 0, skipped: [2] } });
    let error: unknown;
    actor.subscribe({ error: (e) => (error = e) });
    actor.start();
    expect(error).toMatchObject({ message: 'skipped chunk 2 is not one of 0..1' });
  });
});
