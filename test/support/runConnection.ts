/**
 * Start a connection machine against a {@link SimulatedWorker} in memory, recording every state
 * entered (as the runtime's `-O` output would), with the runtime's answer deadline
 * (runtime/coordinator/answerDeadline.ts) on a simulated clock: `clock.increment(ms)` is silence.
 */
import { createActor, SimulatedClock, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import type { ConnectionOutput } from '../../machines/events.js';
import type { InfoRecord } from '../../machines/infoRecord.js';
import { withAnswerDeadline } from '../../runtime/coordinator/answerDeadline.js';
import { SimulatedWorker, type SimulatedWorkerOptions } from './simulatedWorker.js';

/** Dotted state paths of a snapshot value: `{ a: { b: 'c' } }` -> `['a.b.c']`, parallel -> several. */
export function statePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => statePaths(child, `${prefix}${key}.`));
  }
  return [];
}

export function runConnection(
  machine: AnyStateMachine,
  input: unknown,
  options: SimulatedWorkerOptions = {},
) {
  const clock = new SimulatedClock();
  const actor = createActor(machine, { input });
  const worker = new SimulatedWorker(options).attach(withAnswerDeadline(actor, clock));
  const entered: string[] = [];
  const info: Array<[string, string]> = [];
  let error: unknown;
  actor.on('worker.info', (event: { key: string; value: string }) => info.push([event.key, event.value]));
  actor.subscribe({
    next: (snapshot: AnyMachineSnapshot) => {
      for (const path of statePaths(snapshot.value)) if (entered[entered.length - 1] !== path) entered.push(path);
    },
    error: (e: unknown) => {
      error = e;
    },
  });
  actor.start();
  return {
    actor,
    worker,
    clock,
    entered,
    info,
    get error() {
      return error;
    },
    get done() {
      return actor.getSnapshot().status === 'done';
    },
    get output(): ConnectionOutput | undefined {
      return actor.getSnapshot().output as ConnectionOutput | undefined;
    },
    get context() {
      return actor.getSnapshot().context as { info: InfoRecord; queue: string[]; vars: Record<string, string | number> };
    },
  };
}
