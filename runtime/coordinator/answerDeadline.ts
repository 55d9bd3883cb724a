/**
 * A connection's one answer deadline, kept here rather than as a timer in every waiting state of
 * its machine: the worker has the machine's `answerTimeoutMs` after each exchange (a command sent
 * to it, or an answer from it; `INFO:` lines do not count, so a worker that only chatters still
 * times out), and when that passes the actor gets `answer.timeout` and fails, naming where it was
 * waiting. Every stable state of a connection machine waits for an answer, so on the main line
 * "since the last exchange" is "since the wait began", as a timer per waiting state had it; a
 * pipelined list's partial answers, and in a superposition any region's answers, restart it too
 * (the worker is not silent). The machine stays pure (it receives an event); the clock is the
 * coordinator's `CoarseClock`, or XState's SimulatedClock in tests.
 *
 * A restart only moves a number; the one timer, when it fires for a deadline that has moved since,
 * is set again for the rest of the time.
 *
 * @example
 * const connection = withAnswerDeadline(createActor(png2y4mMachine, { input }), new CoarseClock());
 * connection.on('worker.command', ({ text }) => socket.write(encodeFrame(text)));
 * connection.actor.start();
 * socket.on('frame', (text) => connection.send({ type: 'socket.message', text }));
 */
import type { ActorOptions, AnyActorLogic } from 'xstate';
import { DefinitionError } from '../../common/errors.js';
import type { ConnectionEvent } from '../../machines/events.js';

/** XState's clock interface, with the time it counts from. */
export type DeadlineClock = NonNullable<ActorOptions<AnyActorLogic>['clock']> & { now(): number };

/** A connection actor as its peers see it: frames in, commands out. */
export interface ConnectionEndpoint {
  send(event: ConnectionEvent): void;
  on(type: 'worker.command', handler: (event: { type: 'worker.command'; text: string }) => void): { unsubscribe(): void };
}

/** What the deadline reads of a connection actor: its status, and the machine's `answerTimeoutMs`. */
export interface ConnectionActor extends ConnectionEndpoint {
  getSnapshot(): { status: string; context: unknown };
}

/** A connection actor with its answer deadline: send frames through it; `stop` once the connection is over. */
export interface TimedConnection<TActor extends ConnectionActor> extends ConnectionEndpoint {
  readonly actor: TActor;
  stop(): void;
}

/** The machine's `answerTimeoutMs` (ConnectionContext), which every connection machine has. */
export function answerTimeoutOf(actor: ConnectionActor): number {
  const context = actor.getSnapshot().context;
  const ms = context && typeof context === 'object' && 'answerTimeoutMs' in context ? context.answerTimeoutMs : undefined;
  if (typeof ms !== 'number' || !(ms > 0)) {
    throw new DefinitionError(`a connection machine needs a positive answerTimeoutMs in its context (got ${String(ms)}): build it with createConnectionMachine`);
  }
  return ms;
}

export function withAnswerDeadline<TActor extends ConnectionActor>(actor: TActor, clock: DeadlineClock): TimedConnection<TActor> {
  const timeoutMs = answerTimeoutOf(actor);
  let dueAt = clock.now() + timeoutMs;
  let timer: unknown;
  let stopped = false;
  const check = () => {
    timer = undefined;
    if (stopped) return;
    const left = dueAt - clock.now();
    if (left > 0) timer = clock.setTimeout(check, left);
    else if (actor.getSnapshot().status === 'active') actor.send({ type: 'answer.timeout' });
  };
  const restart = () => {
    if (stopped) return;
    dueAt = clock.now() + timeoutMs;
    timer ??= clock.setTimeout(check, timeoutMs);
  };
  timer = clock.setTimeout(check, timeoutMs);
  actor.on('worker.command', restart);
  return {
    actor,
    send(event) {
      if (event.type === 'socket.message' && !event.text.startsWith('INFO:')) restart();
      actor.send(event);
    },
    on: (type, handler) => actor.on(type, handler),
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
