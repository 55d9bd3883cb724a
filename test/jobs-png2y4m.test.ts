import { describe, expect, it, vi } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { chunkKeys, png2y4mMachine } from '../jobs/png2y4m.js';
import { DEFAULT_ANSWER_TIMEOUT_MS } from '../machines/connectionSetup.js';
import { infoObject } from '../machines/infoRecord.js';
import { runConnection } from './support/runConnection.js';

const input = { chunk: 2, frames: 3, video: 'sintel-1k', inFormat: 'png16' };

const EXPECTED_CHUNK_2_FRAMES_3 = [
  'set:cmdinfile:##TMPDIR##/%08d.png',
  'set:cmdoutfile:##TMPDIR##/00000002.y4m',
  'set:fromfile:##TMPDIR##/00000002.y4m',
  'set:outkey:sintel-1k-y4m_03/00000002.y4m',
  'seti:nonblock:0',
  ...[7, 8, 9].flatMap((p) => [
    `set:inkey:sintel-1k-png16/0000000${p}.png`,
    `set:targfile:##TMPDIR##/0000000${p}.png`,
    'retrieve:',
    'run:',
  ]),
  'upload:',
  'quit:',
];

describe('png2y4m machine', () => {
  it('sends mu\'s exact command sequence for chunk 2 of 3 frames, quits, and ends done', () => {
    const run = runConnection(png2y4mMachine, input);
    expect(run.worker.commands).toEqual(EXPECTED_CHUNK_2_FRAMES_3);
    expect(run.worker.quit).toBe(true);
    expect(run.done).toBe(true);
    expect(run.output).toEqual({ status: 'done' });
    expect(run.error).toBeUndefined();
  });

  it('passes through meaningful state names (what -O timelines show)', () => {
    const run = runConnection(png2y4mMachine, { ...input, frames: 1 });
    expect(run.entered).toEqual([
      'configure.set_cmdinfile',
      'configure.set_cmdoutfile',
      'configure.set_fromfile',
      'configure.set_outkey',
      'configure.seti_nonblock',
      'retrieveLoop.frame.set_inkey',
      'retrieveLoop.frame.set_targfile',
      'retrieveLoop.frame.retrieve',
      'retrieveLoop.frame.run',
      'upload.upload',
      'done',
    ]);
  });

  it('uses the same keys as chunkKeys (what the CLI checks and reports)', () => {
    for (const chunk of [0, 5, 123]) {
      const run = runConnection(png2y4mMachine, { ...input, chunk, frames: 6 });
      const keys = chunkKeys({ ...input, chunk, frames: 6 });
      const inkeys = run.worker.commands.filter((c) => c.startsWith('set:inkey:')).map((c) => c.slice('set:inkey:'.length));
      expect(inkeys).toEqual(keys.inputKeys);
      expect(run.worker.commands).toContain(`set:outkey:${keys.outputKey}`);
      expect(run.done).toBe(true);
    }
    expect(chunkKeys({ chunk: 0, frames: 6, video: 'v', inFormat: 'png16' })).toEqual({
      inputKeys: ['v-png16/00000001.png', 'v-png16/00000002.png', 'v-png16/00000003.png', 'v-png16/00000004.png', 'v-png16/00000005.png', 'v-png16/00000006.png'],
      outputKey: 'v-y4m_06/00000000.y4m',
    });
  });

  it('fails on FAIL during a retrieve, stops sending, and never sends quit', () => {
    let retrieves = 0;
    const run = runConnection(png2y4mMachine, input, {
      rules: [{ when: (c) => c === 'retrieve:' && ++retrieves === 2, then: { fail: 'no such key' } }],
    });
    expect(run.output).toEqual({
      status: 'failed',
      state: 'retrieveLoop.frame.retrieve',
      reason: 'unexpected answer "FAIL(no such key)" in state retrieveLoop.frame.retrieve (frame=8), expected "OK:RETRIEV"',
    });
    expect(run.worker.commands.at(-1)).toBe('retrieve:');
    expect(run.worker.commands).not.toContain('quit:');
    expect(run.worker.quit).toBe(false);
  });

  it('fails when run: returns a non-zero status (unexpected answer)', () => {
    const run = runConnection(png2y4mMachine, input, {
      rules: [{ when: 'run:', then: { answer: 'OK:RETVAL(1):OUTPUT(bad png):COMMAND(png2y4m)' } }],
    });
    expect(run.output).toMatchObject({ status: 'failed', state: 'retrieveLoop.frame.run' });
    expect((run.output as { reason: string }).reason).toBe(
      'unexpected answer "OK:RETVAL(1):OUTPUT(bad png):COMMAND(png2y4m)" in state retrieveLoop.frame.run (frame=7), expected "OK:RETVAL(0)"',
    );
  });

  it('fails on an answer meant for another command', () => {
    const run = runConnection(png2y4mMachine, input, { rules: [{ when: 'seti:', then: { answer: 'OK:ECHO(seti)' } }] });
    expect(run.output).toEqual({
      status: 'failed',
      state: 'configure.seti_nonblock',
      reason: 'unexpected answer "OK:ECHO(seti)" in state configure.seti_nonblock, expected "OK:SETI"',
    });
  });

  it('clips a very long unexpected answer in the reason', () => {
    const run = runConnection(png2y4mMachine, input, { rules: [{ when: 'upload:', then: { answer: `OK:NOPE${'x'.repeat(5000)}` } }] });
    const reason = (run.output as { reason: string }).reason;
    expect(reason.length).toBeLessThan(400);
    expect(reason).toMatch(/^unexpected answer "OK:NOPEx+\.\.\.\(4727 characters\)\.\.\.x+" in state upload\.upload, expected "OK:UPLOAD"$/);
  });

  // Regression (issue 9): reasons were cut after 200 characters, so the cause at the end of a
  // FAIL(...) with a long path (ENOSPC, EROFS) appeared nowhere.
  it('keeps the cause at the end of a long FAIL answer', () => {
    const path = `/tmp/${'deep/'.repeat(60)}00000000.y4m`;
    const fail = `FAIL(uploading ${path}->bucket/clip-y4m_06/00000000.y4m: ENOSPC: no space left on device, write)`;
    const run = runConnection(png2y4mMachine, input, { rules: [{ when: 'upload:', then: { answer: fail } }] });
    const reason = (run.output as { reason: string }).reason;
    expect(reason).toContain('ENOSPC: no space left on device, write)"');
    expect(reason).toMatch(/^unexpected answer "FAIL\(uploading \/tmp\/deep/);
  });

  it('records INFO answers in context.info and emits them, without disturbing the sequence', () => {
    const run = runConnection(png2y4mMachine, input, {
      rules: [
        { when: 'retrieve:', then: { info: { bytes: '1234' } }, times: 1 },
        { when: 'run:', then: { info: { bytes: '99', cpu: '0.5' } }, times: 1 },
      ],
    });
    expect(run.done).toBe(true);
    expect(run.output).toEqual({ status: 'done' });
    expect(infoObject(run.context.info)).toEqual({ bytes: '99', cpu: '0.5' });
    expect(run.info).toEqual([
      ['bytes', '1234'],
      ['bytes', '99'],
      ['cpu', '0.5'],
    ]);
    expect(run.worker.commands).toEqual(EXPECTED_CHUNK_2_FRAMES_3);
  });

  it('fails after answerTimeoutMs of silence, and not before', () => {
    const run = runConnection(png2y4mMachine, { ...input, answerTimeoutMs: 5_000 }, { rules: [{ when: 'run:', then: { silent: true } }] });
    run.clock.increment(4_999);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.clock.increment(1);
    expect(run.output).toEqual({
      status: 'failed',
      state: 'retrieveLoop.frame.run',
      reason: 'no answer within 5000 ms in state retrieveLoop.frame.run (frame=7), expected "OK:RETVAL(0)"',
    });
  });

  it('restarts the answer timer at every step (a slow but steady worker is fine)', () => {
    const run = runConnection(png2y4mMachine, { ...input, answerTimeoutMs: 1_000 }, { delivery: 'held' });
    for (let i = 0; i < 100 && run.actor.getSnapshot().status === 'active'; i++) {
      run.clock.increment(900);
      run.worker.release();
    }
    expect(run.output).toEqual({ status: 'done' });
  });

  it('defaults the answer timeout to DEFAULT_ANSWER_TIMEOUT_MS', () => {
    const run = runConnection(png2y4mMachine, input, { rules: [{ when: 'upload:', then: { silent: true } }] });
    run.clock.increment(DEFAULT_ANSWER_TIMEOUT_MS - 1);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.clock.increment(1);
    expect(run.output).toMatchObject({ status: 'failed', state: 'upload.upload' });
  });

  it('fails when the connection closes, with the socket\'s reason', () => {
    const run = runConnection(png2y4mMachine, input, { rules: [{ when: 'set:outkey:', then: { close: 'ECONNRESET' } }] });
    expect(run.output).toEqual({
      status: 'failed',
      state: 'configure.set_outkey',
      reason: 'connection closed (ECONNRESET) in state configure.set_outkey, expected "OK:SET"',
    });
  });

  it('ignores events after it has ended', () => {
    const run = runConnection(png2y4mMachine, input);
    // XState warns of each event sent to a stopped actor; that warning is the only effect.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      run.worker.say('FAIL(late)');
      run.worker.close('late close');
      expect(warn.mock.calls.map(([text]) => String(text).split('\n')[0])).toEqual([
        expect.stringContaining('"socket.message" was sent to stopped actor'),
        expect.stringContaining('"socket.closed" was sent to stopped actor'),
      ]);
    } finally {
      warn.mockRestore();
    }
    expect(run.output).toEqual({ status: 'done' });
  });
});

describe('png2y4m machine, every shortest path (xstate/graph)', () => {
  it('reaches done only through the full sequence, and every failure names a state', () => {
    // Events a worker could send at any point: the right answer for each state, FAIL, junk, a close.
    const good = ['OK:SET(k)', 'OK:SETI(nonblock)', 'OK:RETRIEVE(b/k)', 'OK:RETVAL(0):OUTPUT():COMMAND(c)', 'OK:UPLOAD(b/k)'];
    const events = [
      ...good.map((text) => ({ type: 'socket.message' as const, text })),
      { type: 'socket.message' as const, text: 'FAIL(x)' },
      { type: 'socket.message' as const, text: 'INFO:k:v' },
      { type: 'socket.closed' as const, reason: 'gone' },
    ];
    const paths = getShortestPaths(png2y4mMachine, {
      input: { chunk: 0, frames: 2, video: 'v', inFormat: 'png16' },
      // A stopped actor takes no events (the traversal would otherwise step on from final states).
      events: (snapshot) => (snapshot.status === 'active' ? events : []),
      serializeState: (snapshot) =>
        JSON.stringify([snapshot.value, snapshot.context.vars.frame, snapshot.context.failure?.state, infoObject(snapshot.context.info)]),
    });
    const ends = paths.filter((p) => p.state.status === 'done');
    const done = ends.filter((p) => p.state.output?.status === 'done');
    expect(done.length).toBeGreaterThan(0);
    // Configure (5) + 2 frames x 4 + upload (1) answers: the shortest way to success.
    expect(Math.min(...done.map((p) => p.steps.length - 1))).toBe(14);
    for (const path of ends) {
      const output = path.state.output!;
      if (output.status === 'failed') {
        expect(output.reason).toContain(` in state ${output.state}`);
        expect(output.state).toMatch(/^(configure|retrieveLoop\.frame|upload)\.[a-z_]+$/);
      }
    }
  });
});
