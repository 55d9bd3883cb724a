/**
 * mu's state vocabulary (mu-reference section 3) as building blocks that compile to XState state
 * configs. A block is a value (`{ name, build }`); `build` receives where the block sits (its
 * dotted path, where to go when done, its region) and returns a compound or parallel state that
 * ends in a final child, so blocks nest and chain with plain `onDone`.
 *
 * Every waiting state has a {@link Waiting} entry (state path, expected prefixes) that the answer
 * routing and the failure reasons read: a one-answer step on the main line keeps it in its own
 * params, every other waiting state registers it in `context.waiting`. Every waiting state fails
 * on `answer.timeout` (the runtime's answer deadline), so no state sets a timer of its own. Only
 * named actions and guards are used (see `connectionSetup.ts`), so diagrams show names and params.
 *
 * @example
 * const machine = createConnectionMachine({
 *   id: 'hello',
 *   blocks: [commandList('greet', ['set:name:{who}', 'echo:hi {who}'])],
 *   vars: (input: { who: string }) => ({ who: input.who }),
 * });
 */
import { and } from 'xstate';
import { DefinitionError } from '../common/errors.js';
import { defaultExpect } from '../protocol/messages.js';
import type { CommandSpec } from './commandTemplate.js';
import { describeInfoTest, type InfoTest, type StateConfig } from './connectionSetup.js';

/** One way on from a finished block (a sibling key); a loop's body has several, with guards. */
export interface NextTransition {
  target: string;
  guard?: { type: 'loopHasNext'; params: { counter: string; to: number | string } } | { type: 'infoTest'; params: InfoTest };
  actions?: { type: 'loopNext'; params: { counter: string } };
  /** A loop's body starting its next iteration: exited and entered again. */
  reenter?: true;
}

/** Where a block sits; built by the enclosing block or by `createConnectionMachine`. */
export interface Site {
  /** Dotted path of the block's state, e.g. `retrieveLoop.frame`. */
  path: string;
  /** Transitions taken when the block is done, the first whose guard holds; absent for a region of a superposition. */
  next?: readonly NextTransition[];
  /** Target of every failure: the machine's `failed` state (`#id.failed`). */
  fail: string;
  /** Key of the block's region in `context.waiting` (`''` on the main line). */
  region: string;
  /** Document order of that region (routing precedence). */
  order: number;
  /** Inside a superposition: unexpected answers queue instead of failing. */
  inRegion: boolean;
  /** Loop counters in scope. */
  loops: readonly string[];
  /** Counter for region order numbers, shared by the whole machine. */
  orders: { next: number };
  /** The machine's id as a target (`#png2y4m`), for a step that leaves its block by an absolute target. */
  root: string;
}

/** A reusable piece of a connection machine. */
export interface Block {
  readonly name: string;
  build(site: Site): StateConfig;
}

/**
 * One exchange: send `send` (if any), then wait for an answer starting with `expect`.
 * A bare string is a command expecting its default answer (`set:` -> `OK:SET`, `run:` -> `OK:R`).
 * `expect: null` sends and moves on at once; no `send` only waits.
 */
export type Step = string | { name?: string; send?: CommandSpec; expect?: string | null };

interface Exchange {
  name: string;
  send: CommandSpec | undefined;
  expect: string | null;
}

const END = 'end';
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function checkName(name: string, what: string): string {
  if (!NAME.test(name) || name === END) throw new DefinitionError(`invalid ${what} name ${JSON.stringify(name)}`);
  return name;
}

function derivedName(send: CommandSpec | undefined, expect: string | null): string {
  if (typeof send === 'string') {
    const [command = '', key = ''] = send.split(':', 2);
    const base = ['set', 'seti', 'get', 'geti'].includes(command) && key ? `${command}_${key}` : command;
    const clean = base.replace(/[^A-Za-z0-9_]/g, '_');
    return NAME.test(clean) && clean !== END ? clean : 'step';
  }
  if (send !== undefined) return 'step';
  return expect === null ? 'step' : 'wait';
}

function toExchanges(steps: readonly Step[], where: string): Exchange[] {
  const used = new Map<string, number>();
  return steps.map((step, index) => {
    const object = typeof step === 'string' ? { send: step } : step;
    const send = object.send;
    let expect: string | null;
    if (object.expect !== undefined) expect = object.expect;
    else if (typeof send === 'string') expect = defaultExpect(send);
    else if (send !== undefined) throw new DefinitionError(`${where}: step ${index} sends a computed command and must name its expected answer`);
    else throw new DefinitionError(`${where}: step ${index} neither sends nor expects anything`);
    const base = object.name !== undefined ? checkName(object.name, 'step') : derivedName(send, expect);
    const seen = used.get(base) ?? 0;
    used.set(base, seen + 1);
    return { name: seen === 0 ? base : `${base}_${seen + 1}`, send, expect };
  });
}

/**
 * mu's own form of a command list: `[expect, command]` pairs, where each pair waits for `expect`
 * and then sends `command`, and a bare command expects the previous command's default answer.
 * The last command's answer is left to whatever comes next, as in mu.
 *
 * @example muSteps(['set:a:1', 'set:b:2', ['OK:SET', null]]) // same wire behaviour as ['set:a:1', 'set:b:2']
 */
export function muSteps(list: ReadonlyArray<string | readonly [expect: string | null, command: CommandSpec | null]>): Step[] {
  const pairs: Array<{ expect: string | null; command: CommandSpec | null }> = [];
  let previous: CommandSpec | null = null;
  for (const item of list) {
    if (typeof item === 'string') {
      if (typeof previous === 'function') throw new DefinitionError('muSteps: a bare command after a computed one needs an explicit expectation');
      pairs.push({ expect: previous === null ? null : defaultExpect(previous), command: item });
    } else {
      pairs.push({ expect: item[0], command: item[1] });
    }
    previous = pairs[pairs.length - 1]!.command;
  }
  const steps: Step[] = [];
  if (pairs[0]?.expect != null) steps.push({ expect: pairs[0].expect });
  pairs.forEach(({ command }, i) => {
    const expect = pairs[i + 1]?.expect ?? null;
    if (command !== null) steps.push({ send: command, expect });
    else if (expect !== null) steps.push({ expect });
  });
  return steps;
}

type SendAction = { type: 'sendCommand'; params: { command: CommandSpec } } | { type: 'sendCommands'; params: { commands: readonly CommandSpec[] } };

function sendActions(commands: readonly CommandSpec[]): SendAction[] {
  if (commands.length === 0) return [];
  if (commands.length === 1) return [{ type: 'sendCommand', params: { command: commands[0]! } }];
  return [{ type: 'sendCommands', params: { commands } }];
}

/**
 * An atomic state: send `commands` on entry, then wait until every prefix in `expects` has been
 * answered (in any order), then go to `next` (a sibling key). With nothing to expect it moves on at
 * once (a transient state, invisible in timelines).
 */
function waitingState(
  site: Site,
  path: string,
  commands: readonly CommandSpec[],
  expects: readonly string[],
  next: string,
): StateConfig {
  if (expects.length === 0) return { entry: sendActions(commands), always: { target: next } };
  if (expects.length === 1 && !site.inRegion) return stepState(site, path, commands, expects[0]!, [{ target: next }]);
  const region = site.region;
  const done = { type: 'stopWaiting', params: { region } } as const;
  const last = { guard: { type: 'lastAnswerFor', params: { region } }, target: next, actions: done } as const;
  const partial = { guard: { type: 'answerFor', params: { region } }, actions: { type: 'claimAnswer', params: { region } } } as const;
  const onAnswer = expects.length > 1 ? [last, partial] : [last];
  return {
    entry: [
      ...sendActions(commands),
      { type: 'awaitAnswer', params: { region, state: path, expects, order: site.order, loops: site.loops } },
    ],
    // The entry is dropped on the way out by the completing transition, not by an exit action:
    // exit actions run before transition actions, and a failure reason needs the entry.
    // Inside a superposition an answer may have arrived before this state was entered.
    ...(site.inRegion
      ? {
          always: [
            { guard: { type: 'lastQueuedFor', params: { region } }, target: next, actions: [{ type: 'claimQueued', params: { region } }, done] },
            { guard: { type: 'queuedFor', params: { region } }, actions: { type: 'claimQueued', params: { region } } },
          ],
        }
      : {}),
    on: {
      'socket.message': onAnswer,
      'answer.timeout': { target: site.fail, actions: { type: 'fail', params: { cause: 'timeout', region } } },
    },
  };
}

/**
 * The common step, one command and one answer on the main line: what it waits for is known here,
 * so it is kept in the transitions' params instead of the context, and a step costs the machine
 * no context update. Its answer takes the first of `next` whose guard also holds. It fails on its
 * own (any other answer, info beyond its bounds, the connection closing, silence) with its own
 * description; an `INFO:` that fits goes on to the machine's root, which records it.
 */
function stepState(site: Site, path: string, commands: readonly CommandSpec[], expect: string, next: readonly NextTransition[]): StateConfig {
  const at = { state: path, expects: [expect], order: site.order, loops: site.loops };
  const fail = (cause: 'answer' | 'infoFull' | 'closed' | 'timeout') => ({ target: site.fail, actions: { type: 'fail', params: { cause, at } } }) as const;
  const answered = { type: 'lastAnswerFor', params: { region: site.region, expect } } as const;
  return {
    entry: sendActions(commands),
    on: {
      'socket.message': [
        ...next.map(({ guard, ...way }) => ({ ...way, guard: guard ? and([answered, guard]) : answered })),
        { guard: 'infoOverflows', ...fail('infoFull') },
        { guard: 'isAnswer', ...fail('answer') },
      ],
      'socket.closed': fail('closed'),
      'answer.timeout': fail('timeout'),
    },
  };
}

function compound(site: Site, initial: string, states: Record<string, StateConfig>): StateConfig {
  return {
    initial,
    states: { ...states, [END]: { type: 'final' } },
    ...(site.next ? { onDone: site.next } : {}),
  };
}

function child(site: Site, name: string, next: readonly NextTransition[]): Site {
  return { ...site, path: `${site.path}.${name}`, next };
}

/** The block's ways on (`site.next`, naming its siblings) with absolute targets, for a state inside it. */
function leavingBlock(site: Site, next: readonly NextTransition[]): NextTransition[] {
  const cut = site.path.lastIndexOf('.');
  const parent = cut < 0 ? site.root : `${site.root}.${site.path.slice(0, cut)}`;
  return next.map((way) => ({ ...way, target: `${parent}.${way.target}` }));
}

/**
 * Command list: each step sends a command and waits for its answer, in order. On the main line,
 * the last step's answer leaves the block itself (to the block's successors, with their guards and
 * actions), so a list costs no `end` state and `done` event: one microstep per answer. Otherwise
 * (in a superposition's region, or ending in a step that waits for nothing) it ends in `end`.
 *
 * @example commandList('configure', ['set:cmdinfile:##TMPDIR##/%08d.png', 'seti:nonblock:0'])
 */
export function commandList(name: string, steps: readonly Step[]): Block {
  checkName(name, 'block');
  return {
    name,
    build(site) {
      const exchanges = toExchanges(steps, site.path);
      if (exchanges.length === 0) return compound(site, END, {});
      const last = exchanges[exchanges.length - 1]!;
      const leaves = site.next !== undefined && !site.inRegion && last.expect !== null ? leavingBlock(site, site.next) : undefined;
      const states: Record<string, StateConfig> = {};
      exchanges.forEach((step, i) => {
        const path = `${site.path}.${step.name}`;
        const commands = step.send === undefined ? [] : [step.send];
        const following = exchanges[i + 1]?.name;
        states[step.name] =
          following === undefined && leaves && step.expect !== null
            ? stepState(site, path, commands, step.expect, leaves)
            : waitingState(site, path, commands, step.expect === null ? [] : [step.expect], following ?? END);
      });
      return leaves ? { initial: exchanges[0]!.name, states } : compound(site, exchanges[0]!.name, states);
    },
  };
}

/**
 * Pipelined command list: send every command at once, then collect all answers in any order
 * (state `NAME.collect`). Each answer is matched to the longest expected prefix it starts with.
 *
 * @example pipelined('configure', ['set:a:1', 'set:b:2', 'seti:nonblock:0'])
 */
export function pipelined(name: string, steps: readonly Step[]): Block {
  checkName(name, 'block');
  return {
    name,
    build(site) {
      const exchanges = toExchanges(steps, site.path);
      const commands = exchanges.flatMap((s) => (s.send === undefined ? [] : [s.send]));
      const expects = exchanges.flatMap((s) => (s.expect === null ? [] : [s.expect]));
      return compound(site, 'collect', { collect: waitingState(site, `${site.path}.collect`, commands, expects, END) });
    },
  };
}

/**
 * mu's one-pass state: wait for `expect` (if given), then send `send` (if given) and go on; the
 * answer to `send` is left to the next block.
 *
 * @example onePass('greet', { expect: 'OK:HELLO', send: 'echo:hi' })
 */
export function onePass(name: string, options: { expect?: string; send?: CommandSpec }): Block {
  return commandList(name, muSteps([[options.expect ?? null, options.send ?? null]]));
}

/**
 * Blocks one after another.
 *
 * @example sequence('work', [commandList('a', ['echo:1']), commandList('b', ['echo:2'])])
 */
export function sequence(name: string, blocks: readonly Block[]): Block {
  checkName(name, 'block');
  uniqueNames(blocks, name);
  return {
    name,
    build(site) {
      const states: Record<string, StateConfig> = {};
      blocks.forEach((block, i) => {
        states[block.name] = block.build(child(site, block.name, [{ target: blocks[i + 1]?.name ?? END }]));
      });
      return compound(site, blocks[0]?.name ?? END, states);
    },
  };
}

/**
 * If/else on the worker's info: `then` when `test` holds at the time the block is entered,
 * otherwise `else` (or nothing). Put the command that produces the info (e.g. `geti:K`) before it.
 *
 * @example ifInfo('resume', { test: { key: 'state', present: true }, then: commandList('load', ['run:load']) })
 */
export function ifInfo(name: string, options: { test: InfoTest; then: Block; else?: Block }): Block {
  checkName(name, 'block');
  const branches = options.else ? [options.then, options.else] : [options.then];
  uniqueNames(branches, name);
  return {
    name,
    build(site) {
      const states: Record<string, StateConfig> = {
        decide: {
          always: [
            { guard: { type: 'infoTest', params: options.test }, target: options.then.name },
            { target: options.else?.name ?? END },
          ],
        },
      };
      for (const branch of branches) states[branch.name] = branch.build(child(site, branch.name, [{ target: END }]));
      return compound(site, 'decide', states);
    },
  };
}

/**
 * For loop: `vars[counter]` runs from `from` to `to` inclusive (numbers, or names of job
 * variables), running `body` each time; `until` (a test on info) breaks out before an iteration.
 * Templates in the body can use `{counter}`. The `check` state decides on the first iteration;
 * each later one is chosen by the body's own completion (`done [loopHasNext]`, entering it again;
 * a command list's last answer, `[lastAnswerFor && loopHasNext]`), so an iteration costs no state
 * in between.
 *
 * @example forLoop('retrieveLoop', { counter: 'frame', from: 'firstFrame', to: 'lastFrame', body: commandList('frame', ['retrieve:']) })
 */
export function forLoop(
  name: string,
  options: { counter: string; from: number | string; to: number | string; body: Block; until?: InfoTest },
): Block {
  checkName(name, 'block');
  const { counter, from, to, body, until } = options;
  if (body.name === 'check') throw new DefinitionError(`forLoop ${name}: the body may not be named "check"`);
  return {
    name,
    build(site) {
      const breaks = until ? [{ guard: { type: 'infoTest' as const, params: until }, target: END }] : [];
      const step = { type: 'loopNext', params: { counter } } as const;
      const bodySite: Site = {
        ...child(site, body.name, [
          ...breaks.map((b) => ({ ...b, actions: step })),
          { guard: { type: 'loopHasNext', params: { counter, to } }, target: body.name, reenter: true, actions: step },
          { target: END, actions: step },
        ]),
        loops: [...site.loops, counter],
      };
      return {
        ...compound(site, 'check', {
          check: {
            always: [...breaks, { guard: { type: 'loopContinues', params: { counter, to } }, target: body.name }, { target: END }],
          },
          [body.name]: body.build(bodySite),
        }),
        entry: { type: 'loopStart', params: { counter, from } },
      };
    },
  };
}

/**
 * Superposition: several blocks run at once on one worker (parallel regions). Each answer goes to
 * the region expecting it (the first declared, if several do); answers nobody expects yet wait in
 * `context.queue` until a region does. Done when every region is; an answer still queued then is
 * an error.
 *
 * @example superposition('fetch', [commandList('a', ['retrieve:A\0a.png']), commandList('b', ['retrieve:B\0b.png'])])
 */
export function superposition(name: string, regions: readonly Block[]): Block {
  checkName(name, 'block');
  uniqueNames(regions, name);
  return {
    name,
    build(site) {
      const states: Record<string, StateConfig> = {};
      for (const region of regions) {
        const path = `${site.path}.${region.name}`;
        states[region.name] = region.build({ ...site, path, next: undefined, region: path, order: site.orders.next++, inRegion: true });
      }
      const outermost = !site.inRegion;
      return {
        type: 'parallel',
        states,
        // Only the outermost superposition routes leftovers: a nested one would queue answers an
        // outer sibling region is waiting for.
        ...(outermost
          ? {
              on: {
                'socket.message': [
                  { guard: 'infoOverflows', target: site.fail, actions: { type: 'fail', params: { cause: 'infoFull' } } },
                  { guard: 'isInfo', actions: ['recordInfo', 'emitInfo'] },
                  { guard: 'isFail', target: site.fail, actions: { type: 'fail', params: { cause: 'answer' } } },
                  { guard: 'queueFull', target: site.fail, actions: { type: 'fail', params: { cause: 'queueFull', state: site.path } } },
                  { actions: 'enqueueAnswer' },
                ],
              },
            }
          : {}),
        ...(site.next
          ? {
              onDone: [
                { guard: 'answersLeftOver', target: site.fail, actions: { type: 'fail', params: { cause: 'leftover', state: site.path } } },
                ...site.next,
              ],
            }
          : {}),
      };
    },
  };
}

/**
 * Info watcher: wait (sending nothing) until the worker's info satisfies `test`; wakes on every
 * `INFO:` answer. Silence longer than the answer timeout is an error, as anywhere else.
 *
 * @example sequence('job', [commandList('ask', ['geti:progress']), infoWatcher('ready', { key: 'progress', equals: '100' })])
 */
export function infoWatcher(name: string, test: InfoTest): Block {
  checkName(name, 'block');
  return {
    name,
    build(site) {
      const region = site.region;
      return compound(site, 'watch', {
        watch: {
          entry: {
            type: 'awaitAnswer',
            params: { region, state: `${site.path}.watch`, expects: [], order: site.order, loops: site.loops, watching: describeInfoTest(test) },
          },
          always: { guard: { type: 'infoTest', params: test }, target: END, actions: { type: 'stopWaiting', params: { region } } },
          on: { 'answer.timeout': { target: site.fail, actions: { type: 'fail', params: { cause: 'timeout', region } } } },
        },
      });
    },
  };
}

/**
 * Terminal: the machine's `done` state. `farewell` (default `quit:`) is sent on the way in, so
 * the worker exits; pass `null` to send nothing.
 */
export function terminal(farewell: CommandSpec | null = 'quit:'): StateConfig {
  return { type: 'final', ...(farewell === null ? {} : { entry: { type: 'sendCommand', params: { command: farewell } } }) };
}

/** Error: the machine's `failed` state; the reason is already in `context.failure`. */
export function errorState(): StateConfig {
  return { type: 'final' };
}

function uniqueNames(blocks: readonly Block[], parent: string): void {
  const seen = new Set<string>();
  for (const block of blocks) {
    if (seen.has(block.name)) throw new DefinitionError(`${parent}: two blocks named ${JSON.stringify(block.name)}`);
    seen.add(block.name);
  }
}
