/**
 * The answer deadlines' clock (runtime/coordinator/coarseClock.ts): a deadline never fires early,
 * at most one resolution late, a cleared one never, and its one timer runs only while a deadline is
 * pending. Also as the clock of a real connection machine's answer deadline: a silent worker fails.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { commandList } from '../machines/blocks.js';
import { createConnectionMachine } from '../machines/connectionMachine.js';
import { withAnswerDeadline } from '../runtime/coordinator/answerDeadline.js';
import { CoarseClock } from '../runtime/coordinator/coarseClock.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('coarse clock', () => {
  it('fires a deadline after its delay, within one resolution, and a cleared one never', () => {
    const clock = new CoarseClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('a'), 2_500);
    const b = clock.setTimeout(() => fired.push('b'), 2_500);
    vi.advanceTimersByTime(400);
    clock.setTimeout(() => fired.push('c'), 0);
    clock.clearTimeout(b);
    vi.advanceTimersByTime(2_099);
    expect(fired).toEqual(['c']);
    vi.advanceTimersByTime(1_001);
    expect(fired).toEqual(['c', 'a']);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual(['c', 'a']);
  });

  it('runs its timer only while a deadline is pending, and clearing twice is harmless', () => {
    const clock = new CoarseClock(1_000);
    expect(vi.getTimerCount()).toBe(0);
    const a = clock.setTimeout(() => undefined, 5_000);
    clock.setTimeout(() => undefined, 1_000);
    expect(vi.getTimerCount()).toBe(1);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    clock.clearTimeout(undefined);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(2_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out a silent worker in a connection machine, as the clock of its answer deadline', () => {
    const machine = createConnectionMachine({ id: 'c', blocks: [commandList('a', ['echo:x'])], vars: () => ({}), answerTimeoutMs: () => 3_000 });
    const actor = withAnswerDeadline(createActor(machine, { input: {} }), new CoarseClock(1_000)).actor.start();
    vi.advanceTimersByTime(3_000);
    expect(actor.getSnapshot().status).toBe('active');
    vi.advanceTimersByTime(1_000);
    expect(actor.getSnapshot().output).toEqual({ status: 'failed', state: 'a.echo', reason: 'no answer within 3000 ms in state a.echo, expected "OK:ECHO"' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
