/**
 * Builds a per-connection machine from blocks. Contract with the runtime (one ROOT actor per worker
 * connection, never a child of a shared parent: XState 5.33 copies the children map per spawn):
 * - created after the runtime has read the worker's `OK:HELLO` and the supervisor bound it to a
 *   chunk, so the first block sends at once;
 * - in: `{ type: 'socket.message', text }` per decoded frame, `{ type: 'socket.closed', reason }`,
 *   and `{ type: 'answer.timeout' }` when the runtime's answer deadline passes: `context.answerTimeoutMs`
 *   after the last exchange (runtime/coordinator/answerDeadline.ts);
 * - out: every command via `emit({ type: 'worker.command', text })` (`actor.on('worker.command')`),
 *   every `INFO:K:V` as `worker.info` (and in `context.info`, bounded by `INFO_LIMITS`);
 * - ends in `done` (after sending `quit:`) or `failed`; output `{ status: 'done' }` or
 *   `{ status: 'failed', reason, state }`. On failure nothing is sent: the runtime closes the
 *   connection.
 * A `FAIL...` answer, an unexpected answer, info beyond its bounds, `socket.closed`, or
 * `answer.timeout` (silence longer than input `answerTimeoutMs`, default 120 s), all fail.
 */
import { DefinitionError } from '../common/errors.js';
import { connectionSetup, DEFAULT_ANSWER_TIMEOUT_MS, type StateConfig } from './connectionSetup.js';
import type { CommandSpec, JobVars } from './commandTemplate.js';
import { errorState, terminal, type Block } from './blocks.js';
import { EMPTY_INFO } from './infoRecord.js';

export interface ConnectionMachineSpec<TInput> {
  /** Machine id; also the root of failure targets (`#id.failed`). */
  id: string;
  /** Top-level blocks, run in order, then `done`. */
  blocks: readonly Block[];
  /** Job variables for command templates, from the actor's input. */
  vars: (input: TInput) => JobVars;
  /** Per-answer timeout from the input; default {@link DEFAULT_ANSWER_TIMEOUT_MS}. */
  answerTimeoutMs?: (input: TInput) => number | undefined;
  /** Sent on the way into `done`; default `quit:`, `null` for nothing. */
  farewell?: CommandSpec | null;
}

/**
 * @example
 * const echoMachine = createConnectionMachine({
 *   id: 'echo',
 *   blocks: [commandList('talk', ['echo:{word}'])],
 *   vars: (input: { word: string }) => ({ word: input.word }),
 * });
 * const actor = createActor(echoMachine, { input: { word: 'hi' } });
 * actor.on('worker.command', ({ text }) => socket.write(encodeFrame(text)));
 */
export function createConnectionMachine<TInput>(spec: ConnectionMachineSpec<TInput>) {
  const fail = `#${spec.id}.failed`;
  const orders = { next: 1 };
  const states: Record<string, StateConfig> = {};
  const names = new Set(['done', 'failed']);
  spec.blocks.forEach((block, i) => {
    if (names.has(block.name)) throw new DefinitionError(`${spec.id}: block name ${JSON.stringify(block.name)} is taken`);
    names.add(block.name);
    const next = spec.blocks[i + 1]?.name ?? 'done';
    states[block.name] = block.build({ path: block.name, next: [{ target: next }], fail, region: '', order: 0, inRegion: false, loops: [], orders, root: `#${spec.id}` });
  });
  states.done = terminal(spec.farewell === undefined ? 'quit:' : spec.farewell);
  states.failed = errorState();
  return connectionSetup<TInput>().createMachine({
    id: spec.id,
    initial: spec.blocks[0]?.name ?? 'done',
    context: ({ input }) => ({
      vars: spec.vars(input),
      info: EMPTY_INFO,
      waiting: {},
      queue: [],
      answerTimeoutMs: spec.answerTimeoutMs?.(input) ?? DEFAULT_ANSWER_TIMEOUT_MS,
      failure: undefined,
    }),
    on: {
      // Reached only when no waiting state took the answer (and no superposition queued it).
      'socket.message': [
        { guard: 'infoOverflows', target: '.failed', actions: { type: 'fail', params: { cause: 'infoFull' } } },
        { guard: 'isInfo', actions: ['recordInfo', 'emitInfo'] },
        { target: '.failed', actions: { type: 'fail', params: { cause: 'answer' } } },
      ],
      'socket.closed': { target: '.failed', actions: { type: 'fail', params: { cause: 'closed' } } },
    },
    states,
    output: ({ context }) =>
      context.failure ? { status: 'failed' as const, reason: context.failure.reason, state: context.failure.state } : { status: 'done' as const },
  });
}

/** The machine type {@link createConnectionMachine} returns for a given input type. */
export type ConnectionMachine<TInput> = ReturnType<typeof createConnectionMachine<TInput>>;
