/**
 * A connection's one answer deadline (runtime/coordinator/answerDeadline.ts), played on a simulated
 * clock against real connection machines: it counts from the last exchange, to the millisecond
 * (also after a restart moved it), `INFO:` does not restart it, a state that only waits counts from
 * the answer that brought it there, and a stopped or finished connection gets no `answer.timeout`.
 */
import { describe, expect, it } from 'vitest';
import { createActor, setup, SimulatedClock } from 'xstate';
import { commandList } from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { withAnswerDeadline } from '../runtime/coordinator/answerDeadline.js';
import { runConnection } from './support/runConnection.js';

const machine = createConnectionMachine({
  id: 't',
  blocks: [commandList('c', ['echo:a', { send: 'echo:b', expect: 'OK:ECHO' }, { expect: 'OK:DONE' }])],
  vars: () => ({}),
  answerTimeoutMs: () => 1_000,
});

describe('answer deadline', () => {
  it('restarts at every answer, and fires exactly answerTimeoutMs after the last one', () => {
    const run = runConnection(machine, {}, { delivery: 'held' });
    run.clock.increment(900);
    run.worker.release(); // OK:ECHO(a) at 900: echo:b goes out, due at 1900
    expect(run.worker.commands).toEqual(['echo:a', 'echo:b']);
    run.clock.increment(999);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.clock.increment(1);
    expect(run.output).toEqual({ status: 'failed', state: 'c.echo_2', reason: 'no answer within 1000 ms in state c.echo_2, expected "OK:ECHO"' });
  });

  it('is not restarted by INFO lines', () => {
    const run = runConnection(machine, {}, { delivery: 'held' });
    run.clock.increment(500);
    run.worker.sendInfo('progress', '50');
    run.clock.increment(499);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.clock.increment(1);
    expect(run.output).toMatchObject({ status: 'failed', state: 'c.echo' });
  });

  it('counts a state that only waits from the answer that brought the machine there', () => {
    const run = runConnection(machine, {}, { delivery: 'held' });
    run.worker.release();
    run.clock.increment(600);
    run.worker.release(); // OK:ECHO(b) at 600: now waiting for OK:DONE, sending nothing
    run.clock.increment(999);
    expect(run.actor.getSnapshot().status).toBe('active');
    run.clock.increment(1);
    expect(run.output).toEqual({ status: 'failed', state: 'c.wait', reason: 'no answer within 1000 ms in state c.wait, expected "OK:DONE"' });
  });

  it('sends nothing once stopped, nor to a machine that has ended', () => {
    const clock = new SimulatedClock();
    const stopped = withAnswerDeadline(createActor(machine, { input: {} }), clock);
    const seen: string[] = [];
    stopped.actor.subscribe({ next: (snapshot) => seen.push(JSON.stringify(snapshot.value)) });
    stopped.actor.start();
    stopped.stop();
    clock.increment(5_000);
    expect(stopped.actor.getSnapshot().status).toBe('active');
    expect(seen).toEqual(['{"c":"echo"}']);

    const ended = withAnswerDeadline(createActor(machine, { input: {} }), clock);
    ended.actor.start();
    ended.send({ type: 'socket.closed', reason: 'EOF' });
    clock.increment(5_000);
    expect(ended.actor.getSnapshot().output).toMatchObject({ status: 'failed', reason: 'connection closed (EOF) in state c.echo, expected "OK:ECHO"' });
  });

  it('refuses a machine that does not say how long to wait', () => {
    const bare = createActor(setup({ types: { emitted: {} as { type: 'worker.command'; text: string } } }).createMachine({ id: 'bare', context: {} }));
    expect(() => withAnswerDeadline(bare, new SimulatedClock())).toThrow(/needs a positive answerTimeoutMs in its context \(got undefined\)/);
  });
});
