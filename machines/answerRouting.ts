/**
 * Who an answer belongs to. A step on the main line waiting for one answer knows its own
 * {@link Waiting} entry (it is in the state's params, so the context does not change per step);
 * every other waiting state (pipelined steps, regions of a superposition, info watchers) registers
 * its entry in the context, keyed by its region (`''` on the main line, the region's path inside a
 * superposition), and an answer goes to the entry that expects it, by prefix. These functions are
 * pure and O(number of waiting regions).
 */
import { isFail } from '../protocol/messages.js';

/** A state waiting for answers (or, with no expectation, for info). */
export interface Waiting {
  /** Dotted state path, for reasons and `output.state`. */
  state: string;
  /** Answer prefixes still expected: one for a plain step, several for a pipelined list. */
  expects: readonly string[];
  /** Document order of the region: when two regions expect the same prefix, the first gets it. */
  order: number;
  /** Loop counters in scope, named in reasons (`frame=9`). */
  loops: readonly string[];
  /** What an info watcher waits for, e.g. `info fps present`. */
  watching?: string;
}

export type WaitingTable = Readonly<Record<string, Waiting>>;

/** Answers that never drive transitions: `INFO:` updates info, `FAIL` always means failure. */
export function isClaimable(answer: string): boolean {
  return !answer.startsWith('INFO:') && !isFail(answer);
}

/**
 * Index in `expects` of the expectation `answer` satisfies, or -1. The longest matching prefix
 * wins, so in a pipelined list `OK:RETVAL(0)` is not used up by an answer that `OK:R` also takes.
 *
 * @example claimIndex(['OK:R', 'OK:RETVAL(0)'], 'OK:RETVAL(0):OUTPUT()') // 1
 */
export function claimIndex(expects: readonly string[], answer: string): number {
  let best = -1;
  for (let i = 0; i < expects.length; i++) {
    const prefix = expects[i]!;
    if (answer.startsWith(prefix) && (best < 0 || prefix.length > expects[best]!.length)) best = i;
  }
  return best;
}

/**
 * The region an answer is routed to: among waiting entries that expect it, the one declared first.
 *
 * @example routeAnswer({ '': { state: 'configure.set_a', expects: ['OK:SET'], order: 0, loops: [] } }, 'OK:SET(a)') // ''
 */
export function routeAnswer(waiting: WaitingTable, answer: string): string | undefined {
  if (!isClaimable(answer)) return undefined;
  let chosen: string | undefined;
  let chosenOrder = Infinity;
  for (const region in waiting) {
    const entry = waiting[region]!;
    if (entry.order < chosenOrder && claimIndex(entry.expects, answer) >= 0) {
      chosen = region;
      chosenOrder = entry.order;
    }
  }
  return chosen;
}

/** Index of the first queued answer routed to `region`, or -1. */
export function queuedIndexFor(waiting: WaitingTable, queue: readonly string[], region: string): number {
  for (let i = 0; i < queue.length; i++) if (routeAnswer(waiting, queue[i]!) === region) return i;
  return -1;
}

/** `expects` without the entry `answer` claims. */
export function withoutClaimed(expects: readonly string[], answer: string): readonly string[] {
  const index = claimIndex(expects, answer);
  return index < 0 ? expects : [...expects.slice(0, index), ...expects.slice(index + 1)];
}

/** Characters of a long answer kept from its start and from its end. */
const QUOTED_HEAD = 80;
const QUOTED_TAIL = 200;

/**
 * An answer quoted for a reason: JSON-escaped, and clipped in the middle when long (run outputs
 * can be), since the cause (`ENOSPC`, `EROFS`) is at the end of a `FAIL(...)`.
 *
 * @example quoteAnswer(`FAIL(uploading ${'x'.repeat(500)}: ENOSPC)`) // "FAIL(uploading xx...(224 characters)...xx: ENOSPC)"
 */
export function quoteAnswer(answer: string): string {
  if (answer.length <= QUOTED_HEAD + QUOTED_TAIL) return JSON.stringify(answer);
  const cut = answer.length - QUOTED_HEAD - QUOTED_TAIL;
  return JSON.stringify(`${answer.slice(0, QUOTED_HEAD)}...(${cut} characters)...${answer.slice(-QUOTED_TAIL)}`);
}

/** `state X (frame=9), expected "OK:SET"` for every entry given, and the state path(s). */
export function describeWaiting(entries: readonly Waiting[], vars: Readonly<Record<string, string | number>>): { where: string; state: string } {
  if (entries.length === 0) return { where: 'in state (unknown)', state: '(unknown)' };
  const parts = entries.map((entry) => {
    const loops = entry.loops.map((name) => `${name}=${String(vars[name])}`).join(', ');
    const expected =
      entry.watching !== undefined
        ? `waiting for ${entry.watching}`
        : `expected ${entry.expects.map((e) => JSON.stringify(e)).join(' or ')}`;
    return `${entry.state}${loops ? ` (${loops})` : ''}, ${expected}`;
  });
  return { where: `in state ${parts.join('; and in state ')}`, state: entries.map((e) => e.state).join(', ') };
}
