import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, blockListGet, blockListMap, blockListOf, blockListPush, blockListSet } from '../machines/blockList.js';

describe('blockList', () => {
  it('reads back what it was made of, across block boundaries', () => {
    const length = BLOCK_SIZE * 2 + 3;
    const list = blockListOf(length, (i) => i * 10);
    expect(list.length).toBe(length);
    expect(list.blocks.map((b) => b.length)).toEqual([BLOCK_SIZE, BLOCK_SIZE, 3]);
    expect(blockListMap(list, (v) => v)).toEqual(Array.from({ length }, (_, i) => i * 10));
    expect(blockListGet(list, BLOCK_SIZE)).toBe(BLOCK_SIZE * 10);
    expect(blockListGet(list, length - 1)).toBe((length - 1) * 10);
  });

  it('replaces one item in a new list and leaves the old one and untouched blocks shared', () => {
    const list = blockListOf(BLOCK_SIZE * 3, () => 'free');
    const next = blockListSet(list, BLOCK_SIZE + 5, 'done');
    expect(blockListGet(next, BLOCK_SIZE + 5)).toBe('done');
    expect(blockListGet(list, BLOCK_SIZE + 5)).toBe('free');
    expect(next.blocks[0]).toBe(list.blocks[0]);
    expect(next.blocks[2]).toBe(list.blocks[2]);
    expect(next.blocks[1]).not.toBe(list.blocks[1]);
    expect(blockListMap(next, (v, i) => (v === 'done' ? i : -1)).filter((i) => i >= 0)).toEqual([BLOCK_SIZE + 5]);
  });

  it('answers undefined outside the list and refuses to set there', () => {
    const list = blockListOf(2, () => 0);
    expect([blockListGet(list, -1), blockListGet(list, 2), blockListGet(list, 0.5)]).toEqual([undefined, undefined, undefined]);
    expect(() => blockListSet(list, 2, 1)).toThrow(RangeError);
    expect(blockListOf(0, () => 0)).toEqual({ length: 0, blocks: [] });
  });

  it('grows by one item, starting a block when the last is full, and leaves the old list untouched', () => {
    const list = blockListOf(BLOCK_SIZE - 1, (i) => i);
    const full = blockListPush(list, BLOCK_SIZE - 1);
    const more = blockListPush(full, BLOCK_SIZE);
    expect([list.length, full.length, more.length]).toEqual([BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1]);
    expect(more.blocks.map((b) => b.length)).toEqual([BLOCK_SIZE, 1]);
    expect(more.blocks[0]).toBe(full.blocks[0]);
    expect(blockListGet(list, BLOCK_SIZE - 1)).toBeUndefined();
    expect(blockListMap(more, (v) => v)).toEqual(Array.from({ length: BLOCK_SIZE + 1 }, (_, i) => i));
    expect(blockListPush(blockListOf(0, () => 0), 7)).toEqual({ length: 1, blocks: [[7]] });
  });
});
