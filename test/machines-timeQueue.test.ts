import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE } from '../machines/blockList.js';
import { timeQueueOf, timeQueuePeek, timeQueuePop, timeQueuePush, type TimeQueue } from '../machines/timeQueue.js';

describe('timeQueue', () => {
  it('gives items back first in, first out, across blocks, and is empty after the last', () => {
    let queue: TimeQueue<number> = timeQueueOf();
    const count = 3 * BLOCK_SIZE + 7;
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      queue = timeQueuePush(queue, i);
      // Interleave pops with pushes, as the supervisor does.
      if (i % 3 === 2) {
        out.push(timeQueuePeek(queue)!);
        queue = timeQueuePop(queue);
      }
    }
    for (let head = timeQueuePeek(queue); head !== undefined; head = timeQueuePeek(queue)) {
      out.push(head);
      queue = timeQueuePop(queue);
    }
    expect(out).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(queue.size).toBe(0);
    expect(timeQueuePop(queue)).toBe(queue);
  });

  it('drops used-up blocks, so it holds only what is still queued', () => {
    let queue: TimeQueue<number> = timeQueueOf();
    for (let i = 0; i < 4 * BLOCK_SIZE; i++) queue = timeQueuePush(queue, i);
    for (let i = 0; i < 3 * BLOCK_SIZE; i++) queue = timeQueuePop(queue);
    expect(queue.blocks).toHaveLength(1);
    expect(timeQueuePeek(queue)).toBe(3 * BLOCK_SIZE);
  });

  it('leaves older versions untouched', () => {
    const one = timeQueuePush(timeQueueOf<string>(), 'a');
    const two = timeQueuePush(one, 'b');
    timeQueuePop(two);
    expect(one.size).toBe(1);
    expect(timeQueuePeek(two)).toBe('a');
    expect(two.size).toBe(2);
  });
});
