/**
 * The xcenc machine (issue 10) against simulated workers: the exact commands for a group's head,
 * place 1 and places >= 2; a group of them in memory passing states as the worker does
 * (worker/commands.ts + stateFiles.ts), with states arriving before and after they are awaited; a
 * state that never comes; FAIL answers; the answer timeout against the workers' state wait.
 */
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { xcencChunkKeys, xcencMachine, XCENC_REBASE_COMMAND, XCENC_VPXENC_COMMAND, type XcencInput } from '../machines/xcenc.js';
import type { ConnectionOutput } from '../machines/events.js';
import { exportMachine } from '../runtime/observe/machineExport.js';
import { withAnswerDeadline } from '../runtime/coordinator/answerDeadline.js';
import { runConnection } from './support/runConnection.js';
import { SimulatedWorker, type Rule } from './support/simulatedWorker.js';

const base = { video: 'clip', inFormat: 'y4m_06', quality: 30, runId: 'r1', relay: { host: '127.0.0.1', port: 4433 } };
const input = (chunk: number, groupSize: number, lastChunk = 99): XcencInput => ({ ...base, chunk, groupSize, lastChunk });
const connectAnswer: Rule = { when: 'connect:', then: { answer: 'OK:CONNECT(127.0.0.1:4433:HELLO_STATE)' } };

const setup = (chunk: number) => [
  'seti:nonblock:1',
  'seti:bg_silent:1',
  'seti:expect_statefile:1',
  'seti:minimal_recode:1',
  `connect:127.0.0.1:4433:HELLO_STATE:r1:${chunk}:${chunk + 1}`,
  `retrieve:clip-y4m_06/${String(chunk).padStart(8, '0')}.y4m\0##TMPDIR##/input.y4m`,
];
const pass0 = (send: 0 | 1) => [
  'seti:run_iter:0',
  'set:cmdquality:30',
  `seti:send_statefile:${send}`,
  `run:${XCENC_VPXENC_COMMAND}`,
  'run:xc-dump "##TMPDIR##/output.ivf" "##TMPDIR##/final.state"',
];
const rebase = (runIter: number, send: 0 | 1) => [`seti:run_iter:${runIter}`, 'set:cmdquality:', `seti:send_statefile:${send}`, `run:${XCENC_REBASE_COMMAND}`];
const finish = (chunk: number, groupSize: number) => [
  `upload:clip/out_30_k${groupSize}/${String(chunk).padStart(8, '0')}.ivf\0##TMPDIR##/output.ivf`,
  'quit:',
];

describe('xcenc machine: the commands of each place', () => {
  it('a group head (e = 0) encodes, dumps and sends STATE(0), and is done after pass 0', () => {
    const run = runConnection(xcencMachine, input(6, 3), { rules: [connectAnswer] });
    expect(run.worker.commands).toEqual([...setup(6), ...pass0(1), ...finish(6, 3)]);
    expect(run.output).toEqual({ status: 'done' });
    expect(run.entered).toEqual(['setup.collect', 'pass0.seti_run_iter', 'pass0.set_cmdquality', 'pass0.set_send_statefile', 'pass0.vpxenc', 'pass0.xc_dump', 'upload.upload', 'done']);
  });

  it('e = 1 rebases once onto 0.state (run_iter 1) and sends STATE(1) unless last of its group', () => {
    const run = runConnection(xcencMachine, input(7, 3), { rules: [connectAnswer] });
    expect(run.worker.commands).toEqual([...setup(7), ...pass0(1), ...rebase(1, 1), ...finish(7, 3)]);
    expect(run.output).toEqual({ status: 'done' });
    const last = runConnection(xcencMachine, input(7, 2), { rules: [connectAnswer] });
    expect(last.worker.commands).toEqual([...setup(7), ...pass0(0), ...rebase(1, 0), ...finish(7, 2)]);
  });

  it('e >= 2 rebases onto 0.state, then chains onto (e-1).state with run_iter e, sending only after its last pass', () => {
    const run = runConnection(xcencMachine, input(13, 8), { rules: [connectAnswer] }); // e = 5
    expect(run.worker.commands).toEqual([...setup(13), ...pass0(1), ...rebase(1, 0), ...rebase(5, 1), ...finish(13, 8)]);
    expect(run.entered.filter((s) => s.startsWith('rebase.pass.xc_enc'))).toEqual(['rebase.pass.xc_enc', 'rebase.pass.xc_enc']);
    const last = runConnection(xcencMachine, input(15, 8), { rules: [connectAnswer] }); // e = 7, last of its group
    expect(last.worker.commands).toEqual([...setup(15), ...pass0(0), ...rebase(1, 0), ...rebase(7, 0), ...finish(15, 8)]);
  });

  it('the run\'s last chunk is the last of its group even when the group is short; K = 1 is all heads', () => {
    const short = runConnection(xcencMachine, input(9, 4, 9), { rules: [connectAnswer] }); // e = 1 of a group cut at 9
    expect(short.worker.commands).toEqual([...setup(9), ...pass0(0), ...rebase(1, 0), ...finish(9, 4)]);
    const single = runConnection(xcencMachine, input(3, 1), { rules: [connectAnswer] });
    expect(single.worker.commands).toEqual([...setup(3), ...pass0(0), ...finish(3, 1)]);
  });

  it('uses the keys of xcencChunkKeys, and refuses a group size that is not a whole number >= 1', () => {
    const keys = xcencChunkKeys({ chunk: 2, video: 'sintel-1k', inFormat: 'y4m_06', quality: 27, groupSize: 16 });
    expect(keys).toEqual({
      inputKey: 'sintel-1k-y4m_06/00000002.y4m',
      outputKey: 'sintel-1k/out_27_k16/00000002.ivf',
      firstKey: 'sintel-1k/first_27/00000002.ivf',
      finalStateKey: 'sintel-1k/final_state_27_k16/00000002.state',
    });
    const run = runConnection(xcencMachine, { ...input(2, 16), video: 'sintel-1k', quality: 27 }, { rules: [connectAnswer] });
    expect(run.worker.commands).toContain(`retrieve:${keys.inputKey}\0##TMPDIR##/input.y4m`);
    expect(run.worker.commands).toContain(`upload:${keys.outputKey}\0##TMPDIR##/output.ivf`);
    const bad = createActor(xcencMachine, { input: input(2, 0) });
    const errors: unknown[] = [];
    bad.subscribe({ error: (error) => errors.push(error) });
    bad.start();
    expect(String(errors[0])).toMatch(/groupSize must be a whole number >= 1, got 0/);
  });
});

/**
 * The worker side of a group, in memory, doing what worker/commands.ts does with the variables the
 * machine sets: a `run:` holding `##INSTATEWAIT##` waits for `{run_iter-1}.state` (and `0.state`
 * for the `-S` of minimal_recode), a chain tool's success sends `STATE(run_iter)` to chunk c+1 when
 * `send_statefile` is on and removes `{run_iter-2}.state`. Answers are silent (bg_silent) RETVALs.
 */
class Group {
  readonly clock = new SimulatedClock();
  readonly workers = new Map<number, { worker: SimulatedWorker; actor: ReturnType<typeof createActor<typeof xcencMachine>>; states: Set<number>; sent: number[]; parked?: () => boolean }>();
  readonly problems: string[] = [];
  /** States sent to a chunk not started yet (the relay holds them). */
  private readonly held: Array<[number, number]> = [];

  constructor(
    readonly groupSize: number,
    readonly lastChunk: number,
  ) {}

  start(chunk: number): void {
    const actor = createActor(xcencMachine, { input: input(chunk, this.groupSize, this.lastChunk) });
    const entry = { worker: new SimulatedWorker({ rules: [connectAnswer] }), actor, states: new Set<number>(), sent: [] as number[] };
    this.workers.set(chunk, entry);
    entry.worker.addRule({ when: (command) => command.startsWith('run:') && this.run(chunk, command), then: { silent: true } });
    entry.worker.attach(withAnswerDeadline(actor, this.clock));
    actor.start();
  }

  output(chunk: number): ConnectionOutput | undefined {
    return this.workers.get(chunk)?.actor.getSnapshot().output;
  }

  /** The relay: a state from chunk c lands in c+1's temp dir, now or when c+1 starts (held). */
  private deliver(from: number, n: number): void {
    this.workers.get(from)!.sent.push(n);
    const to = this.workers.get(from + 1);
    if (!to) return void this.held.push([from + 1, n]);
    to.states.add(n);
    // Waking may run that worker on to its next wait, which parks again: keep that one.
    const wake = to.parked;
    to.parked = undefined;
    if (wake && !wake()) to.parked ??= wake;
  }

  private run(chunk: number, command: string): true {
    const entry = this.workers.get(chunk)!;
    for (const [to, n] of this.held.filter(([to]) => to === chunk)) entry.states.add(n);
    const vals = entry.worker.vals;
    const on = (key: string) => String(vals.get(key)) === '1';
    if (!on('nonblock') || !on('bg_silent')) this.problems.push(`chunk ${chunk}: ran ${command.slice(4, 20)} in the foreground or not silently`);
    const runIter = Number(vals.get('run_iter'));
    const needs = command.includes('##INSTATEWAIT##') && on('expect_statefile') && runIter > 0 ? [runIter - 1, ...(runIter > 1 && on('minimal_recode') ? [0] : [])] : [];
    const finish = () => {
      if (!needs.every((n) => entry.states.has(n))) return false;
      if (/xc-enc|xc-dump/.test(command)) {
        if (runIter > 1) entry.states.delete(runIter - 2);
        if (on('send_statefile')) this.deliver(chunk, runIter);
      }
      entry.worker.say(`OK:RETVAL(0):OUTPUT():COMMAND(${command.slice(4)})`);
      return true;
    };
    if (!finish()) entry.parked = finish;
    return true;
  }
}

it('draws as a diagram with its named passes (xc-orch machines show, once registered)', () => {
  const mermaid = exportMachine(xcencMachine, 'mermaid');
  for (const state of ['setup', 'pass0', 'rebase', 'upload']) expect(mermaid).toContain(state);
  expect(JSON.parse(exportMachine(xcencMachine, 'json')).id).toBe('xcenc');
});

describe('xcenc machine: a group passing states in memory', () => {
  const K = 4;
  const expectAllDone = (group: Group, chunks: number[]) => {
    for (const c of chunks) expect(group.output(c), `chunk ${c}`).toEqual({ status: 'done' });
    expect(group.problems).toEqual([]);
    // Head: STATE(0); e = 1: 0 and 1; e = 2: 0 and 2; the last of the group sends nothing.
    expect(chunks.map((c) => group.workers.get(c)!.sent)).toEqual([[0], [0, 1], [0, 2], []]);
  };

  it('states arriving before they are awaited (chunks started head first)', () => {
    const group = new Group(K, 7);
    for (const c of [4, 5, 6, 7]) group.start(c);
    expectAllDone(group, [4, 5, 6, 7]);
  });

  it('states arriving after they are awaited (chunks started last first, each waiting for its state)', () => {
    const group = new Group(K, 7);
    for (const c of [7, 6, 5]) group.start(c);
    for (const c of [5, 6, 7]) expect(group.workers.get(c)!.actor.getSnapshot().value).toEqual({ rebase: { pass: 'xc_enc' } });
    group.start(4);
    expectAllDone(group, [4, 5, 6, 7]);
  });

  it('a state that arrives late but within the workers\' wait is no timeout', () => {
    const group = new Group(K, 7);
    group.start(5);
    group.clock.increment(600_000 + 59_999);
    expect(group.workers.get(5)!.actor.getSnapshot().status).toBe('active');
    group.start(4);
    expect(group.output(5)).toEqual({ status: 'done' });
  });
});

describe('xcenc machine: failures', () => {
  it('a missing state fails with the worker\'s reason, which names it, before the answer timeout', () => {
    const run = runConnection(xcencMachine, input(1, 4), {
      rules: [connectAnswer, { when: (c) => c.includes('xc-enc'), then: { silent: true } }],
    });
    run.clock.increment(600_000);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.worker.say('FAIL(run: 0.state did not arrive within 600 s)');
    expect(run.output).toEqual({
      status: 'failed',
      state: 'rebase.pass.xc_enc',
      reason: 'unexpected answer "FAIL(run: 0.state did not arrive within 600 s)" in state rebase.pass.xc_enc (pass=1), expected "OK:RETVAL(0)"',
    });
    expect(run.worker.commands).not.toContain('quit:');
  });

  it('e >= 2 whose predecessor died after pass 0: pass 2 fails naming (e-1).state', () => {
    let rebases = 0;
    const run = runConnection(xcencMachine, input(2, 4), {
      rules: [connectAnswer, { when: (c) => c.includes('xc-enc') && ++rebases === 2, then: { fail: 'run: 1.state did not arrive within 600 s' } }],
    });
    expect(run.output).toMatchObject({ status: 'failed', state: 'rebase.pass.xc_enc' });
    expect((run.output as { reason: string }).reason).toMatch(/1\.state did not arrive .* \(pass=2\)/);
  });

  it('a worker silent past the answer timeout (state wait + answer timeout) fails, naming the pass', () => {
    const run = runConnection(xcencMachine, { ...input(1, 4), stateWaitMs: 30_000, answerTimeoutMs: 60_000 }, {
      rules: [connectAnswer, { when: (c) => c.includes('xc-enc'), then: { silent: true } }],
    });
    run.clock.increment(89_999);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.clock.increment(1);
    expect(run.output).toEqual({
      status: 'failed',
      state: 'rebase.pass.xc_enc',
      reason: 'no answer within 90000 ms in state rebase.pass.xc_enc (pass=1), expected "OK:RETVAL(0)"',
    });
  });

  // Regression: the coordinator gives every machine the run's answer timeout (120 s), which used to
  // replace the state wait's allowance, so the machine gave up first with a reason naming no state.
  it('the run\'s answer timeout does not cut the workers\' state wait short: the worker names the missing state', () => {
    const run = runConnection(xcencMachine, { ...input(1, 4), stateWaitMs: 300_000, answerTimeoutMs: 120_000 }, {
      rules: [connectAnswer, { when: (c) => c.includes('xc-enc'), then: { silent: true } }],
    });
    run.clock.increment(300_000);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.worker.say('FAIL(run: 0.state did not arrive within 300 s)');
    expect(run.output).toMatchObject({ status: 'failed', state: 'rebase.pass.xc_enc' });
    expect((run.output as { reason: string }).reason).toContain('0.state did not arrive within 300 s');
  });

  it('refuses to start without a relay address, saying where it comes from', () => {
    const { relay: _relay, ...noRelay } = input(2, 4);
    const actor = createActor(xcencMachine, { input: noRelay });
    const errors: unknown[] = [];
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    expect(String(errors[0])).toMatch(/no relay address in the input: the coordinator gives one to jobs with relay: true/);
  });

  it.each([
    ['the relay cannot be reached', 'connect:', { fail: 'connect to 127.0.0.1:4433: ECONNREFUSED' }, 'setup.collect'],
    ['the chunk is missing', 'retrieve:', { fail: 'retrieving b/clip-y4m_06/00000005.y4m: no such key' }, 'setup.collect'],
    ['vpxenc exits 1', 'run:vpxenc', { answer: 'OK:RETVAL(1):OUTPUT(Failed to open input file):COMMAND(vpxenc)' }, 'pass0.vpxenc'],
    ['xc-dump cannot send its state', 'run:xc-dump', { fail: 'after xc-dump: sending final.state as STATE(0): closed' }, 'pass0.xc_dump'],
    ['xc-enc fails', (c: string) => c.includes('xc-enc'), { answer: 'OK:RETVAL(134):OUTPUT(abort):COMMAND(xc-enc)' }, 'rebase.pass.xc_enc'],
    ['the upload fails', 'upload:', { fail: 'uploading output.ivf: access denied' }, 'upload.upload'],
  ] as const)('fails when %s, naming the state, and never quits', (_what, when, then, state) => {
    const run = runConnection(xcencMachine, input(5, 4), { rules: [{ when, then }, connectAnswer] });
    expect(run.output).toMatchObject({ status: 'failed', state });
    const reason = (run.output as { reason: string }).reason;
    expect(reason).toMatch(/^unexpected answer "(FAIL\(|OK:RETVAL\(1)/);
    expect(reason).toContain(` in state ${state}`);
    expect(run.worker.commands).not.toContain('quit:');
  });

  it('the default answer timeout outlasts the workers\' default state wait (600 s) by the default answer timeout (120 s)', () => {
    const run = runConnection(xcencMachine, input(1, 4), { rules: [connectAnswer, { when: (c) => c.includes('xc-enc'), then: { silent: true } }] });
    run.clock.increment(719_999);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.clock.increment(1);
    expect(run.output).toMatchObject({ status: 'failed', state: 'rebase.pass.xc_enc' });
  });
});

describe('xcenc machine: -u keeps the intermediates', () => {
  it('uploads pass 0\'s vpxenc output before any rebase and the final state after the output', () => {
    const run = runConnection(xcencMachine, { ...input(6, 4), keepIntermediates: true }, { rules: [connectAnswer] }); // e = 2
    const keys = xcencChunkKeys(input(6, 4));
    expect(keys.firstKey).toBe('clip/first_30/00000006.ivf');
    expect(keys.finalStateKey).toBe('clip/final_state_30_k4/00000006.state');
    expect(run.worker.commands).toEqual([
      ...setup(6), ...pass0(1),
      `upload:${keys.firstKey}\0##TMPDIR##/output.ivf`,
      ...rebase(1, 0), ...rebase(2, 1),
      `upload:${keys.outputKey}\0##TMPDIR##/output.ivf`,
      `upload:${keys.finalStateKey}\0##TMPDIR##/final.state`,
      'quit:',
    ]);
    expect(run.entered).toContain('keepFirst.first.upload');
    expect(run.entered).toContain('keepState.finalState.upload');
    expect(run.output).toEqual({ status: 'done' });
  });

  it('a failed intermediate upload fails the chunk, naming its state', () => {
    const run = runConnection(xcencMachine, { ...input(6, 4), keepIntermediates: true }, {
      rules: [{ when: 'upload:clip/first_', then: { fail: 'uploading output.ivf: access denied' } }, connectAnswer],
    });
    expect(run.output).toMatchObject({ status: 'failed', state: 'keepFirst.first.upload' });
  });
});
