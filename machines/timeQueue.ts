/**
 * An immutable first-in first-out queue of items pushed in time order, as plain data in blocks of
 * {@link BLOCK_SIZE}: push copies the last block and the spine of live blocks, pop moves a head
 * index and drops a block once it is used up. The supervisor pushes deadlines and attempt starts
 * as they happen, so each queue is sorted by time and a periodic check only looks at its head:
 * O(expired + 1) per check instead of a timer per invocation or a scan of every running chunk.
 *
 * @example
 * const q = timeQueuePush(timeQueuePush(timeQueueOf<number>(), 1), 2);
 * timeQueuePeek(timeQueuePop(q)) // 2
 */
import { BLOCK_SIZE } from './blockList.js';

export interface TimeQueue<T> {
  readonly blocks: ReadonlyArray<ReadonlyArray<T>>;
  /** Index of the head item in `blocks[0]`. */
  readonly head: number;
  readonly size: number;
}

export function timeQueueOf<T>(): TimeQueue<T> {
  return { blocks: [], head: 0, size: 0 };
}

export function timeQueuePush<T>(queue: TimeQueue<T>, item: T): TimeQueue<T> {
  const blocks = queue.blocks.slice();
  const last = blocks.at(-1);
  if (last === undefined || last.length === BLOCK_SIZE) blocks.push([item]);
  else blocks[blocks.length - 1] = [...last, item];
  return { blocks, head: queue.head, size: queue.size + 1 };
}

export function timeQueuePeek<T>(queue: TimeQueue<T>): T | undefined {
  return queue.size === 0 ? undefined : queue.blocks[0]![queue.head];
}

/** The queue without its head item (the same queue when empty). */
export function timeQueuePop<T>(queue: TimeQueue<T>): TimeQueue<T> {
  if (queue.size === 0) return queue;
  if (queue.size === 1) return timeQueueOf<T>();
  const head = queue.head + 1;
  if (head < queue.blocks[0]!.length) return { blocks: queue.blocks, head, size: queue.size - 1 };
  return { blocks: queue.blocks.slice(1), head: 0, size: queue.size - 1 };
}
