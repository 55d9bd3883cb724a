import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  commandList,
  forLoop,
  ifInfo,
  infoWatcher,
  muSteps,
  onePass,
  pipelined,
  sequence,
  superposition,
  type Block,
} from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { claimIndex, routeAnswer } from '../machines/answerRouting.js';
import { renderCommand, templateVariables } from '../machines/commandTemplate.js';
import { MAX_QUEUED_ANSWERS } from '../machines/connectionSetup.js';
import { EMPTY_INFO, infoObject } from '../machines/infoRecord.js';
import { runConnection } from './support/runConnection.js';
import { SimulatedWorker } from './support/simulatedWorker.js';

type Vars = Record<string, string | number>;

function machineOf(blocks: Block[], farewell: string | null = 'quit:') {
  return createConnectionMachine({ id: 't', blocks, vars: (input: Vars) => input, farewell, answerTimeoutMs: () => 1_000 });
}

function valueOf(run: ReturnType<typeof runConnection>): unknown {
  return run.actor.getSnapshot().value;
}

describe('command templates', () => {
  it('substitutes variables, zero-pads, and keeps literal braces and mu placeholders', () => {
    const scope = { vars: { chunk: 2, frames: 6, video: 'sintel-1k' }, info: EMPTY_INFO };
    expect(renderCommand('set:outkey:{video}-y4m_{frames:02}/{chunk:08}.y4m', scope)).toBe('set:outkey:sintel-1k-y4m_06/00000002.y4m');
    expect(renderCommand('set:cmdinfile:##TMPDIR##/%08d.png', scope)).toBe('set:cmdinfile:##TMPDIR##/%08d.png');
    expect(renderCommand('run:echo {{chunk}} {chunk}', scope)).toBe('run:echo {chunk} 2');
    expect(renderCommand(({ vars }) => `echo:${Number(vars.chunk) * 10}`, scope)).toBe('echo:20');
    expect(templateVariables('a{x}b{y:08}{{z}}')).toEqual(['x', 'y']);
  });

  it('renders a template it has rendered before from the variables of each call (templates are split once)', () => {
    const template = 'set:inkey:{video}/{frame:08}.png{{x}}';
    expect(renderCommand(template, { vars: { video: 'a', frame: 1 }, info: EMPTY_INFO })).toBe('set:inkey:a/00000001.png{x}');
    expect(renderCommand(template, { vars: { video: 'b', frame: 123456789 }, info: EMPTY_INFO })).toBe('set:inkey:b/123456789.png{x}');
    expect(() => renderCommand(template, { vars: { video: 'c' }, info: EMPTY_INFO })).toThrow('names unknown variable "frame"');
    expect(renderCommand('{{}}', { vars: {}, info: EMPTY_INFO })).toBe('{}');
  });

  it('refuses a template naming an unknown variable, and the machine errors instead of sending garbage', () => {
    expect(() => renderCommand('echo:{nope}', { vars: {}, info: EMPTY_INFO })).toThrow('names unknown variable "nope"');
    const run = runConnection(machineOf([commandList('a', ['echo:{nope}'])]), {});
    expect(String(run.error)).toContain('unknown variable "nope"');
    expect(run.worker.commands).toEqual([]);
  });
});

describe('answer routing', () => {
  it('gives an answer to the longest matching expectation', () => {
    expect(claimIndex(['OK:R', 'OK:RETVAL(0)'], 'OK:RETVAL(0):OUTPUT()')).toBe(1);
    expect(claimIndex(['OK:R', 'OK:RETVAL(0)'], 'OK:RETVAL(1):OUTPUT()')).toBe(0);
    expect(claimIndex(['OK:SET'], 'OK:GET(1)')).toBe(-1);
  });

  it('never routes INFO or FAIL answers, and prefers the first declared region', () => {
    const waiting = {
      b: { state: 's.b.x', expects: ['OK:ECHO'], order: 2, loops: [] },
      a: { state: 's.a.x', expects: ['OK:ECHO', 'FAIL', 'INFO'], order: 1, loops: [] },
    };
    expect(routeAnswer(waiting, 'OK:ECHO(x)')).toBe('a');
    expect(routeAnswer(waiting, 'FAIL(x)')).toBeUndefined();
    expect(routeAnswer(waiting, 'INFO:k:v')).toBeUndefined();
    expect(routeAnswer(waiting, 'OK:SET(x)')).toBeUndefined();
  });
});

describe('simulated worker', () => {
  it('answers with mu\'s exact texts', () => {
    const worker = new SimulatedWorker({ bucket: 'bk' });
    expect(worker.answer('set:a:1:2')).toEqual(['OK:SET(a)']);
    expect(worker.answer('get:a')).toEqual(['OK:GET(1:2)']);
    expect(worker.answer('seti:n:x')).toEqual(['FAIL(could not interpret x as an integer)']);
    expect(worker.answer('set:novalue')).toEqual(['FAIL(invalid syntax for SET)']);
    expect(worker.answer('geti:a')).toEqual(['INFO:a:1:2', 'OK:GETI(a)']);
    expect(worker.answer('get:zz')).toEqual(['FAIL(no such variable zz)']);
    expect(worker.answer('frobnicate:x')).toEqual(["FAIL(no such command 'frobnicate:x')"]);
    expect(worker.answer('retrieve:key\0file')).toEqual(['OK:RETRIEVE(bk/key)']);
  });
});

describe('command list', () => {
  it('sends each command after the previous answer, expecting each command\'s default answer', () => {
    const run = runConnection(machineOf([commandList('cfg', ['set:a:1', 'seti:b:2', 'get:a', 'echo:x', 'dump_vals:'])]), {});
    expect(run.worker.commands).toEqual(['set:a:1', 'seti:b:2', 'get:a', 'echo:x', 'dump_vals:', 'quit:']);
    expect(run.entered).toEqual(['cfg.set_a', 'cfg.seti_b', 'cfg.get_a', 'cfg.echo', 'cfg.dump_vals', 'done']);
    expect(run.output).toEqual({ status: 'done' });
  });

  it('matches expectations by prefix only: OK:SET accepts OK:SETI (as mu did), not OK:GET', () => {
    const accepts = runConnection(machineOf([commandList('c', ['set:a:1'])]), {}, { rules: [{ when: 'set:', then: { answer: 'OK:SETI(a)' } }] });
    expect(accepts.output).toEqual({ status: 'done' });
    const refuses = runConnection(machineOf([commandList('c', ['set:a:1'])]), {}, { rules: [{ when: 'set:', then: { answer: 'OK:GET(a)' } }] });
    expect(refuses.output).toEqual({ status: 'failed', state: 'c.set_a', reason: 'unexpected answer "OK:GET(a)" in state c.set_a, expected "OK:SET"' });
  });

  it('supports explicit expectations, send-and-go-on steps, wait-only steps and names', () => {
    const run = runConnection(
      machineOf([
        commandList('c', [
          { send: 'run:true', expect: 'OK:RETVAL(0)' },
          { send: 'echo:fire-and-forget', expect: null },
          { name: 'late', expect: 'OK:ECHO(fire' },
          { name: 'computed', send: ({ vars }) => `echo:${vars.n}`, expect: 'OK:ECHO(7)' },
        ]),
      ]),
      { n: 7 },
    );
    expect(run.worker.commands).toEqual(['run:true', 'echo:fire-and-forget', 'echo:7', 'quit:']);
    expect(run.entered).toEqual(['c.run', 'c.late', 'c.computed', 'done']);
    expect(run.output).toEqual({ status: 'done' });
  });

  it('names repeated steps apart and refuses ambiguous definitions', () => {
    const run = runConnection(machineOf([commandList('c', ['echo:1', 'echo:2', 'set:a-b.c:1'])]), {});
    expect(run.entered).toEqual(['c.echo', 'c.echo_2', 'c.set_a_b_c', 'done']);
    expect(() => machineOf([commandList('c', [{ send: () => 'echo:x' }])])).toThrow('must name its expected answer');
    expect(() => machineOf([commandList('c', [{}])])).toThrow('neither sends nor expects');
    expect(() => commandList('has.dot', [])).toThrow('invalid block name');
    expect(() => machineOf([commandList('done', ['echo:x'])])).toThrow('is taken');
    expect(() => sequence('s', [commandList('a', []), commandList('a', [])])).toThrow('two blocks named "a"');
  });

  it('reads mu\'s (expect, command) form the same way on the wire', () => {
    const steps = muSteps(['set:a:1', 'set:b:2', ['OK:SET', 'run:'], ['OK:RETVAL(0)', null]]);
    expect(steps).toEqual([
      { send: 'set:a:1', expect: 'OK:SET' },
      { send: 'set:b:2', expect: 'OK:SET' },
      { send: 'run:', expect: 'OK:RETVAL(0)' },
    ]);
    const mu = runConnection(machineOf([commandList('c', steps)]), {}, { rules: [{ when: 'run:', then: { answer: 'OK:RETVAL(2)' } }] });
    expect(mu.output).toMatchObject({ status: 'failed', state: 'c.run' });
    // A first pair with an expectation waits before sending anything.
    expect(muSteps([['OK:HELLO', 'echo:x']])).toEqual([{ expect: 'OK:HELLO' }, { send: 'echo:x', expect: null }]);
  });
});

describe('one-pass', () => {
  it('waits for its answer, sends its command and leaves that command\'s answer to the next block', () => {
    const run = runConnection(
      machineOf([commandList('first', [{ send: 'echo:a', expect: null }]), onePass('pass', { expect: 'OK:ECHO(a)', send: 'echo:b' }), commandList('last', [{ expect: 'OK:ECHO(b)' }])]),
      {},
    );
    expect(run.worker.commands).toEqual(['echo:a', 'echo:b', 'quit:']);
    expect(run.entered).toEqual(['pass.wait', 'last.wait', 'done']);
    expect(run.output).toEqual({ status: 'done' });
  });
});

describe('pipelined command list', () => {
  it('sends every command before any answer, then takes the answers in any order', () => {
    const machine = machineOf([pipelined('cfg', ['set:a:1', 'seti:b:2', 'echo:x']), commandList('after', ['echo:y'])]);
    const run = runConnection(machine, {}, { delivery: 'held' });
    expect(run.worker.commands).toEqual(['set:a:1', 'seti:b:2', 'echo:x']);
    expect(run.worker.outbox).toEqual(['OK:SET(a)', 'OK:SETI(b)', 'OK:ECHO(x)']);
    run.worker.setDelivery('immediate');
    run.worker.release('reverse');
    expect(run.worker.commands).toEqual(['set:a:1', 'seti:b:2', 'echo:x', 'echo:y', 'quit:']);
    expect(run.entered).toEqual(['cfg.collect', 'after.echo', 'done']);
  });

  it('gives each answer to the most specific expectation it satisfies', () => {
    // OK:SETI(b) also starts with OK:SET; it must not use up set:a's expectation.
    const machine = machineOf([pipelined('cfg', ['set:a:1', 'seti:b:2'])]);
    const run = runConnection(machine, {}, { delivery: 'held' });
    run.worker.setDelivery('immediate');
    run.worker.release('reverse');
    expect(run.output).toEqual({ status: 'done' });
  });

  it('fails on a stray answer, and a timeout names what is still due', () => {
    const stray = runConnection(machineOf([pipelined('cfg', ['set:a:1', 'echo:x'])]), {}, { rules: [{ when: 'echo:', then: { answer: 'OK:UPLOAD(x)' } }] });
    expect(stray.output).toEqual({
      status: 'failed',
      state: 'cfg.collect',
      reason: 'unexpected answer "OK:UPLOAD(x)" in state cfg.collect, expected "OK:ECHO"',
    });
    const slow = runConnection(machineOf([pipelined('cfg', ['set:a:1', 'echo:x', 'get:a'])]), {}, { rules: [{ when: 'set:', then: { silent: true } }, { when: 'get:', then: { silent: true } }] });
    slow.clock.increment(1_000);
    expect(slow.output).toEqual({
      status: 'failed',
      state: 'cfg.collect',
      reason: 'no answer within 1000 ms in state cfg.collect, expected "OK:SET" or "OK:GET"',
    });
  });
});

describe('if/else on info', () => {
  const branchy = machineOf([
    commandList('ask', ['geti:mode']),
    ifInfo('branch', { test: { key: 'mode', equals: 'fast' }, then: commandList('fast', ['echo:fast']), else: commandList('slow', ['echo:slow']) }),
    ifInfo('maybe', { test: { key: 'extra', present: true }, then: commandList('extra', ['echo:extra']) }),
  ]);

  it('takes the then branch when the test holds', () => {
    const run = runConnection(branchy, {}, { vals: { mode: 'fast' } });
    expect(run.worker.commands).toEqual(['geti:mode', 'echo:fast', 'quit:']);
    expect(infoObject(run.context.info)).toEqual({ mode: 'fast' });
  });

  it('takes the else branch, or nothing, when it does not', () => {
    const run = runConnection(branchy, {}, { vals: { mode: 'slow' } });
    expect(run.worker.commands).toEqual(['geti:mode', 'echo:slow', 'quit:']);
    expect(run.entered).toEqual(['ask.geti_mode', 'branch.slow.echo', 'done']);
  });

  it('fails when the info the test needs cannot be read', () => {
    const run = runConnection(branchy, {});
    expect(run.output).toMatchObject({ status: 'failed', reason: 'unexpected answer "FAIL(no such variable mode)" in state ask.geti_mode, expected "OK:GETI"' });
  });
});

describe('microsteps', () => {
  it('a command list on the main line takes one microstep per answer, also the answer that ends its block or a loop iteration', () => {
    const machine = machineOf([
      commandList('first', ['echo:a', 'echo:b']),
      forLoop('loop', { counter: 'i', from: 1, to: 3, body: commandList('body', ['echo:{i}', 'echo:x']) }),
      commandList('last', ['echo:z']),
    ]);
    // Microsteps XState takes for each answer, from its inspection events.
    const perAnswer: number[] = [];
    const actor = createActor(machine, {
      input: {},
      inspect: (event) => {
        if (event.type === '@xstate.event' && event.event.type === 'socket.message') perAnswer.push(0);
        else if (event.type === '@xstate.microstep' && perAnswer.length > 0) perAnswer[perAnswer.length - 1]!++;
      },
    });
    const worker = new SimulatedWorker().attach(actor);
    actor.start();
    expect(actor.getSnapshot().status).toBe('done');
    expect(worker.commands).toEqual(['echo:a', 'echo:b', 'echo:1', 'echo:x', 'echo:2', 'echo:x', 'echo:3', 'echo:x', 'echo:z', 'quit:']);
    // Only entering the loop (then its `check`) and leaving it (its `end`, then its `done`) take two.
    expect(perAnswer).toEqual([1, 2, 1, 1, 1, 1, 1, 2, 1]);
  });
});

describe('for loop', () => {
  const loop = (until?: { key: string; present: boolean }) =>
    machineOf([forLoop('loop', { counter: 'i', from: 'first', to: 'last', body: commandList('body', ['echo:{i:03}']), ...(until ? { until } : {}) })]);

  it('runs the body once per counter value, the counter visible to templates and reasons', () => {
    const run = runConnection(loop(), { first: 4, last: 6 });
    expect(run.worker.commands).toEqual(['echo:004', 'echo:005', 'echo:006', 'quit:']);
    const failing = runConnection(loop(), { first: 4, last: 6 }, { rules: [{ when: 'echo:005', then: { fail: 'x' } }] });
    expect(failing.output).toEqual({ status: 'failed', state: 'loop.body.echo', reason: 'unexpected answer "FAIL(x)" in state loop.body.echo (i=5), expected "OK:ECHO"' });
  });

  it('runs zero times when from > to', () => {
    const run = runConnection(loop(), { first: 2, last: 1 });
    expect(run.worker.commands).toEqual(['quit:']);
    expect(run.output).toEqual({ status: 'done' });
  });

  it('breaks out when its info test holds', () => {
    const run = runConnection(loop({ key: 'stop', present: true }), { first: 1, last: 9 }, { rules: [{ when: 'echo:002', then: { info: { stop: '1' } } }] });
    expect(run.worker.commands).toEqual(['echo:001', 'echo:002', 'quit:']);
  });

  it('runs a superposition as its body, each iteration afresh, and still fails on an answer no region took', () => {
    const body = superposition('both', [commandList('a', ['echo:a{i}']), commandList('b', ['echo:b{i}'])]);
    const machine = machineOf([forLoop('loop', { counter: 'i', from: 1, to: 2, body })]);
    const run = runConnection(machine, {});
    expect(run.worker.commands).toEqual(['echo:a1', 'echo:b1', 'echo:a2', 'echo:b2', 'quit:']);
    const leftover = runConnection(machine, {}, { rules: [{ when: 'echo:b2', then: { answer: ['OK:JUNK', 'OK:ECHO(b2)'] } }] });
    expect(leftover.output).toEqual({ status: 'failed', state: 'loop.both', reason: 'unexpected answer "OK:JUNK" in state loop.both: no region expected it' });
  });
});

describe('superposition', () => {
  it('runs regions at once and routes answers arriving in any order to the region expecting them', () => {
    const machine = machineOf([superposition('both', [commandList('a', ['set:x:1', 'get:x']), commandList('b', ['echo:b', 'dump_vals:'])]), commandList('after', ['echo:end'])]);
    const run = runConnection(machine, {}, { delivery: 'held' });
    expect(run.worker.commands).toEqual(['set:x:1', 'echo:b']);
    expect(statePathsOf(run)).toEqual(['both.a.set_x', 'both.b.echo']);
    run.worker.release('reverse'); // OK:ECHO(b) before OK:SET(x)
    expect(run.worker.commands).toEqual(['set:x:1', 'echo:b', 'dump_vals:', 'get:x']);
    run.worker.release('reverse'); // OK:GET(1) before OK:DUMP_VALS
    expect(run.worker.commands.slice(4)).toEqual(['echo:end']);
    run.worker.release();
    expect(run.output).toEqual({ status: 'done' });
  });

  it('queues an answer nobody expects yet until a region waits for it', () => {
    const machine = machineOf([superposition('both', [commandList('a', ['set:x:1', 'get:x']), commandList('b', ['echo:b'])])], null);
    const run = runConnection(machine, {}, { delivery: 'held' });
    run.worker.say('OK:GET(1)'); // region a is still waiting for OK:SET
    expect(run.context.queue).toEqual(['OK:GET(1)']);
    run.worker.say('OK:ECHO(b)');
    run.worker.say('OK:SET(x)'); // a moves on to get:x and finds its answer waiting
    expect(run.worker.commands).toEqual(['set:x:1', 'echo:b', 'get:x']);
    expect(run.context.queue).toEqual([]);
    expect(run.output).toEqual({ status: 'done' });
  });

  it('gives an answer two regions expect to the first declared', () => {
    const run = runConnection(machineOf([superposition('s', [commandList('a', ['echo:a', 'echo:a2']), commandList('b', ['echo:b'])])], null), {}, { delivery: 'held' });
    run.worker.say('OK:ECHO(b)');
    expect(statePathsOf(run)).toEqual(['s.a.echo_2', 's.b.echo']);
  });

  it('fails when answers nobody claimed are left at the end', () => {
    const run = runConnection(machineOf([superposition('s', [commandList('a', ['echo:a']), commandList('b', ['echo:b'])])]), {}, { delivery: 'held' });
    run.worker.say('OK:UPLOAD(stray)');
    run.worker.release();
    expect(run.output).toEqual({ status: 'failed', state: 's', reason: 'unexpected answer "OK:UPLOAD(stray)" in state s: no region expected it' });
    expect(run.worker.commands).not.toContain('quit:');
  });

  it('fails on FAIL, naming every region\'s state', () => {
    const run = runConnection(machineOf([superposition('s', [commandList('a', ['echo:a']), commandList('b', ['get:nope'])])]), {});
    expect(run.output).toEqual({
      status: 'failed',
      state: 's.b.get_nope',
      reason: 'unexpected answer "FAIL(no such variable nope)" in state s.b.get_nope, expected "OK:GET"',
    });
    const both = runConnection(machineOf([superposition('s', [commandList('a', ['echo:a']), commandList('b', ['get:nope'])])]), {}, { delivery: 'held' });
    both.worker.say('FAIL(boom)');
    expect(both.output).toEqual({
      status: 'failed',
      state: 's.a.echo, s.b.get_nope',
      reason: 'unexpected answer "FAIL(boom)" in state s.a.echo, expected "OK:ECHO"; and in state s.b.get_nope, expected "OK:GET"',
    });
  });

  it('records INFO without queueing it, and times out per region', () => {
    const run = runConnection(machineOf([superposition('s', [commandList('a', ['echo:a']), commandList('b', ['echo:b'])])]), {}, { rules: [{ when: 'echo:b', then: { silent: true } }] });
    run.worker.sendInfo('k', 'v');
    expect(infoObject(run.context.info)).toEqual({ k: 'v' });
    expect(run.context.queue).toEqual([]);
    run.clock.increment(1_000);
    expect(run.output).toEqual({ status: 'failed', state: 's.b.echo', reason: 'no answer within 1000 ms in state s.b.echo, expected "OK:ECHO"' });
  });

  it('nests: answers for an outer region are not swallowed by an inner superposition', () => {
    const machine = machineOf([
      superposition('outer', [superposition('inner', [commandList('x', ['echo:x']), commandList('y', ['echo:y'])]), commandList('z', ['set:z:1', 'echo:z'])]),
    ]);
    const run = runConnection(machine, {}, { delivery: 'held' });
    expect(run.worker.commands).toEqual(['echo:x', 'echo:y', 'set:z:1']);
    run.worker.release('reverse'); // OK:SET(z) first: region z takes it although inner regions are declared first
    expect(run.worker.commands).toEqual(['echo:x', 'echo:y', 'set:z:1', 'echo:z']);
    run.worker.setDelivery('immediate');
    run.worker.release();
    expect(run.output).toEqual({ status: 'done' });
    expect(run.worker.commands.at(-1)).toBe('quit:');
  });

  it('wakes an info watcher region on INFO, and fails every region when the connection closes', () => {
    const machine = machineOf([superposition('s', [infoWatcher('w', { key: 'ready', equals: 'yes' }), commandList('c', ['echo:c', 'echo:d'])])]);
    const run = runConnection(machine, {}, { delivery: 'held' });
    run.worker.sendInfo('ready', 'yes');
    expect(statePathsOf(run)).toEqual(['s.c.echo']);
    expect(run.info).toEqual([['ready', 'yes']]);
    run.worker.close('EOF');
    expect(run.output).toEqual({ status: 'failed', state: 's.c.echo', reason: 'connection closed (EOF) in state s.c.echo, expected "OK:ECHO"' });
  });

  it('gives up on a worker that floods it with answers nobody expects', () => {
    const run = runConnection(machineOf([superposition('s', [commandList('a', ['echo:a'])])]), {}, { delivery: 'held' });
    for (let i = 0; i <= MAX_QUEUED_ANSWERS && run.actor.getSnapshot().status === 'active'; i++) run.worker.say(`OK:JUNK(${i})`);
    expect(run.output).toMatchObject({ status: 'failed', state: 's' });
    expect((run.output as { reason: string }).reason).toContain(`more than ${MAX_QUEUED_ANSWERS} answers nobody expected in state s`);
  });
});

describe('info watcher', () => {
  const watcher = machineOf([commandList('start', [{ send: 'run:work', expect: 'OK:RUNNING' }]), infoWatcher('watch', { key: 'progress', equals: '100' }), commandList('after', ['echo:ok'])]);

  it('wakes when arriving info satisfies its test', () => {
    const run = runConnection(watcher, {}, { rules: [{ when: 'run:', then: { answer: 'OK:RUNNING(work)' } }] });
    expect(statePathsOf(run)).toEqual(['watch.watch']);
    run.worker.sendInfo('progress', '50');
    expect(statePathsOf(run)).toEqual(['watch.watch']);
    run.worker.sendInfo('progress', '100');
    expect(run.worker.commands).toEqual(['run:work', 'echo:ok', 'quit:']);
    expect(run.output).toEqual({ status: 'done' });
  });

  it('passes straight through when the info is already there', () => {
    const run = runConnection(watcher, {}, { rules: [{ when: 'run:', then: { answer: ['INFO:progress:100', 'OK:RUNNING(work)'] } }] });
    expect(run.output).toEqual({ status: 'done' });
  });

  it('fails on silence, and on any answer that is not info', () => {
    const silent = runConnection(watcher, {}, { rules: [{ when: 'run:', then: { answer: 'OK:RUNNING(work)' } }] });
    silent.clock.increment(1_000);
    expect(silent.output).toEqual({ status: 'failed', state: 'watch.watch', reason: 'no answer within 1000 ms in state watch.watch, waiting for info progress = "100"' });
    const chatty = runConnection(watcher, {}, { rules: [{ when: 'run:', then: { answer: 'OK:RUNNING(work)' } }] });
    chatty.worker.say('OK:RETVAL(0)');
    expect(chatty.output).toMatchObject({ status: 'failed', state: 'watch.watch' });
  });
});

describe('terminal and error', () => {
  it('sends the farewell on the way into done, or nothing', () => {
    expect(runConnection(machineOf([commandList('a', ['echo:a'])], 'echo:bye'), {}).worker.commands).toEqual(['echo:a', 'echo:bye']);
    expect(runConnection(machineOf([commandList('a', ['echo:a'])], null), {}).worker.commands).toEqual(['echo:a']);
  });

  it('fails on a closed connection in any state, and ignores everything after', () => {
    const run = runConnection(machineOf([sequence('seq', [commandList('a', ['echo:a']), commandList('b', ['echo:b'])])]), {}, { rules: [{ when: 'echo:b', then: { close: 'EPIPE' } }] });
    expect(run.output).toEqual({ status: 'failed', state: 'seq.b.echo', reason: 'connection closed (EPIPE) in state seq.b.echo, expected "OK:ECHO"' });
    run.worker.say('OK:ECHO(b)');
    expect(run.actor.getSnapshot().value).toBe('failed');
  });
});

function statePathsOf(run: ReturnType<typeof runConnection>): string[] {
  const paths: string[] = [];
  const walk = (value: unknown, prefix: string) => {
    if (typeof value === 'string') paths.push(prefix + value);
    else for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, `${prefix}${k}.`);
  };
  walk(valueOf(run), '');
  return paths.filter((p) => !p.endsWith('.end'));
}
