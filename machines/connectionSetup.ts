/**
 * The named actions and guards every per-connection machine is built from. Building blocks
 * (`blocks.ts`) refer to them by name with params, so the Stately inspector and exported diagrams
 * show `sendCommand {command: "retrieve:"}` and `answerFor {region: ""}` instead of inline closures.
 * Everything here is pure: commands leave only through `emit`, and time comes in only as the
 * runtime's `answer.timeout` event (the machine says how long, in `context.answerTimeoutMs`).
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { parseInfo, isFail } from '../protocol/messages.js';
import {
  describeWaiting,
  isClaimable,
  queuedIndexFor,
  quoteAnswer,
  routeAnswer,
  withoutClaimed,
  type Waiting,
  type WaitingTable,
} from './answerRouting.js';
import { renderCommand, type CommandSpec, type JobVars } from './commandTemplate.js';
import { infoOverflow, infoValue, withInfo, type InfoRecord } from './infoRecord.js';
import type { ConnectionEmitted, ConnectionEvent, ConnectionOutput } from './events.js';

/** Default for `answerTimeoutMs`: a worker silent this long while an answer is due has failed. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 120_000;

/** Answers nobody expects that a superposition holds before giving up on the worker. */
export const MAX_QUEUED_ANSWERS = 1024;

export interface ConnectionContext {
  /** Job variables commands are rendered from; loop counters live here too. */
  vars: JobVars;
  /** The worker's info record, from `INFO:K:V` answers (read with `infoValue`, `infoObject`). */
  info: InfoRecord;
  /**
   * States currently waiting for an answer that registered themselves, by region (`''` = main
   * line): pipelined steps, regions, info watchers. A one-answer step on the main line does not.
   */
  waiting: WaitingTable;
  /** Answers nobody expected yet (superpositions only), oldest first. */
  queue: readonly string[];
  /** How long the worker may be silent while an answer is due; the runtime keeps the deadline. */
  answerTimeoutMs: number;
  failure: { reason: string; state: string } | undefined;
}

/** A test on the worker's info record (if/else blocks, loop breaks, info watchers). */
export type InfoTest =
  | { key: string; equals: string }
  | { key: string; notEquals: string }
  | { key: string; present: boolean };

/** Why a connection fails; the reason text is built from it and the context. */
export type FailureCause = 'answer' | 'timeout' | 'closed' | 'leftover' | 'queueFull' | 'infoFull';

export function infoHolds(info: InfoRecord, test: InfoTest): boolean {
  const value = infoValue(info, test.key);
  if ('equals' in test) return value === test.equals;
  if ('notEquals' in test) return value !== test.notEquals;
  return (value !== undefined) === test.present;
}

export function describeInfoTest(test: InfoTest): string {
  if ('equals' in test) return `info ${test.key} = ${JSON.stringify(test.equals)}`;
  if ('notEquals' in test) return `info ${test.key} != ${JSON.stringify(test.notEquals)}`;
  return `info ${test.key} ${test.present ? 'present' : 'absent'}`;
}

function answerText(event: { type: string }): string | undefined {
  return event.type === 'socket.message' && 'text' in event && typeof event.text === 'string' ? event.text : undefined;
}

/**
 * What `fail` is told: the cause, and where the machine was waiting: the step's own entry (`at`,
 * a one-answer step on the main line), one region's registered entry, or else every registered one.
 */
export interface FailureParams {
  cause: FailureCause;
  at?: Waiting;
  region?: string;
  state?: string;
}

function waitingEntries(context: ConnectionContext, params: FailureParams): readonly Waiting[] {
  if (params.at) return [params.at];
  if (params.region === undefined) return Object.values(context.waiting);
  const entry = context.waiting[params.region];
  return entry ? [entry] : [];
}

function failureOf(context: ConnectionContext, event: { type: string }, params: FailureParams): { reason: string; state: string } {
  const { where, state } = describeWaiting(waitingEntries(context, params), context.vars);
  const text = answerText(event) ?? '';
  switch (params.cause) {
    case 'answer':
      return { reason: `unexpected answer ${quoteAnswer(text)} ${where}`, state };
    case 'timeout':
      return { reason: `no answer within ${context.answerTimeoutMs} ms ${where}`, state };
    case 'closed': {
      const why = 'reason' in event && typeof event.reason === 'string' ? event.reason : 'closed';
      return { reason: `connection closed (${why}) ${where}`, state };
    }
    case 'leftover': {
      const at = params.state ?? state;
      return { reason: `unexpected answer ${quoteAnswer(context.queue[0] ?? '')} in state ${at}: no region expected it`, state: at };
    }
    case 'queueFull': {
      const at = params.state ?? state;
      return { reason: `more than ${MAX_QUEUED_ANSWERS} answers nobody expected in state ${at} (last ${quoteAnswer(text)})`, state: at };
    }
    case 'infoFull': {
      const info = parseInfo(text) ?? { key: '', value: '' };
      const why = infoOverflow(context.info, info.key, info.value) ?? 'too much info';
      return { reason: `worker sent ${why} (at key ${quoteAnswer(info.key)}) ${where}`, state };
    }
  }
}

function counter(vars: JobVars, name: string): number {
  return Number(vars[name]);
}

function bound(vars: JobVars, value: number | string): number {
  return typeof value === 'number' ? value : Number(vars[value]);
}

/**
 * One setup per job input type (the state configs do not depend on it). Use through
 * {@link createConnectionMachine}; call it directly only to type configs.
 */
export function connectionSetup<TInput>() {
  return setup({
    types: {
      context: {} as ConnectionContext,
      events: {} as ConnectionEvent,
      emitted: {} as ConnectionEmitted,
      output: {} as ConnectionOutput,
      input: {} as TInput,
    },
    actions: {
      /** Write one command to the worker. */
      sendCommand: emit(({ context }, params: { command: CommandSpec }) => ({
        type: 'worker.command' as const,
        text: renderCommand(params.command, context),
      })),
      /** Write several commands at once (pipelined lists). */
      sendCommands: enqueueActions(({ context, enqueue }, params: { commands: readonly CommandSpec[] }) => {
        for (const command of params.commands) enqueue.emit({ type: 'worker.command', text: renderCommand(command, context) });
      }),
      awaitAnswer: assign({
        waiting: ({ context }, params: { region: string } & Waiting) => {
          const { region, ...entry } = params;
          return { ...context.waiting, [region]: entry };
        },
      }),
      stopWaiting: assign({
        waiting: ({ context }, params: { region: string }) => {
          const { [params.region]: _gone, ...rest } = context.waiting;
          return rest;
        },
      }),
      /** A pipelined step took one of its answers; the others are still due. */
      claimAnswer: assign({
        waiting: ({ context, event }, params: { region: string }) => {
          const entry = context.waiting[params.region];
          const text = answerText(event);
          if (!entry || text === undefined) return context.waiting;
          return { ...context.waiting, [params.region]: { ...entry, expects: withoutClaimed(entry.expects, text) } };
        },
      }),
      /** A waiting region takes the first queued answer routed to it. */
      claimQueued: assign(({ context }, params: { region: string }) => {
        const index = queuedIndexFor(context.waiting, context.queue, params.region);
        const entry = context.waiting[params.region];
        if (index < 0 || !entry) return {};
        const text = context.queue[index]!;
        return {
          queue: [...context.queue.slice(0, index), ...context.queue.slice(index + 1)],
          waiting: { ...context.waiting, [params.region]: { ...entry, expects: withoutClaimed(entry.expects, text) } },
        };
      }),
      enqueueAnswer: assign({
        queue: ({ context, event }) => {
          const text = answerText(event);
          return text === undefined ? context.queue : [...context.queue, text];
        },
      }),
      recordInfo: assign({
        info: ({ context, event }) => {
          const info = parseInfo(answerText(event) ?? '');
          return info ? withInfo(context.info, info.key, info.value) : context.info;
        },
      }),
      emitInfo: emit(({ event }) => {
        const info = parseInfo(answerText(event) ?? '') ?? { key: '', value: '' };
        return { type: 'worker.info' as const, key: info.key, value: info.value };
      }),
      fail: assign({
        failure: ({ context, event }, params: FailureParams) =>
          context.failure ?? failureOf(context, event, params),
      }),
      loopStart: assign({
        vars: ({ context }, params: { counter: string; from: number | string }) => ({
          ...context.vars,
          [params.counter]: bound(context.vars, params.from),
        }),
      }),
      loopNext: assign({
        vars: ({ context }, params: { counter: string }) => ({
          ...context.vars,
          [params.counter]: counter(context.vars, params.counter) + 1,
        }),
      }),
    },
    guards: {
      isInfo: ({ event }) => answerText(event)?.startsWith('INFO:') === true,
      /** An `INFO:` answer that would take the record past its bounds. */
      infoOverflows: ({ context, event }) => {
        const info = parseInfo(answerText(event) ?? '');
        return info !== undefined && infoOverflow(context.info, info.key, info.value) !== undefined;
      },
      isFail: ({ event }) => isFail(answerText(event) ?? ''),
      /** Any answer but `INFO:` (which the machine records wherever it is). */
      isAnswer: ({ event }) => answerText(event)?.startsWith('INFO:') === false,
      /** The answer is routed to this region (it expects it, and no earlier region does). */
      answerFor: ({ context, event }, params: { region: string }) => {
        const text = answerText(event);
        return text !== undefined && routeAnswer(context.waiting, text) === params.region;
      },
      /**
       * The answer completes this step: it starts with `expect` (a one-answer step on the main line,
       * which knows what it waits for), or it is routed to `region` as the last answer still due.
       */
      lastAnswerFor: ({ context, event }, params: { region: string; expect?: string }) => {
        const text = answerText(event);
        if (text === undefined) return false;
        if (params.expect !== undefined) return text.startsWith(params.expect) && isClaimable(text);
        if (routeAnswer(context.waiting, text) !== params.region) return false;
        return withoutClaimed(context.waiting[params.region]!.expects, text).length === 0;
      },
      queuedFor: ({ context }, params: { region: string }) =>
        context.queue.length > 0 && queuedIndexFor(context.waiting, context.queue, params.region) >= 0,
      lastQueuedFor: ({ context }, params: { region: string }) => {
        if (context.queue.length === 0) return false;
        const index = queuedIndexFor(context.waiting, context.queue, params.region);
        if (index < 0) return false;
        return withoutClaimed(context.waiting[params.region]!.expects, context.queue[index]!).length === 0;
      },
      /** A superposition is done but holds answers no region took. */
      answersLeftOver: ({ context }) => context.queue.length > 0,
      queueFull: ({ context }) => context.queue.length >= MAX_QUEUED_ANSWERS,
      infoTest: ({ context }, params: InfoTest) => infoHolds(context.info, params),
      loopContinues: ({ context }, params: { counter: string; to: number | string }) =>
        counter(context.vars, params.counter) <= bound(context.vars, params.to),
      /** The iteration just finished is not the last (checked before `loopNext` counts it). */
      loopHasNext: ({ context }, params: { counter: string; to: number | string }) =>
        counter(context.vars, params.counter) + 1 <= bound(context.vars, params.to),
    },
  });
}

type AnyConnectionSetup = ReturnType<typeof connectionSetup<unknown>>;

/** A state-node config for a connection machine, checked against the named actions and guards. */
export type StateConfig = Parameters<AnyConnectionSetup['createStateConfig']>[0];
