import { describe, expect, it } from 'vitest';
import { medianAdd, medianCount, medianOf, medianTrackerOf, type MedianNode, type MedianTracker } from '../machines/medianTracker.js';

function depth(node: MedianNode | null): number {
  return node ? 1 + Math.max(depth(node.left), depth(node.right)) : 0;
}

/** A seeded generator, so that a failure can be replayed. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

describe('medianTracker', () => {
  it('is undefined when empty, the middle value for an odd count, the mean of the middle two for an even one', () => {
    expect(medianOf(medianTrackerOf())).toBeUndefined();
    expect(medianOf([5, 1, 9].reduce(medianAdd, medianTrackerOf()))).toBe(5);
    expect(medianOf([4, 1, 9, 2].reduce(medianAdd, medianTrackerOf()))).toBe(3);
    expect(medianOf([7, 7, 7, 1].reduce(medianAdd, medianTrackerOf()))).toBe(7);
  });

  it('agrees with sorting after every insertion, on random, sorted and reversed input', () => {
    const random = lcg(42);
    const inputs = [
      Array.from({ length: 500 }, () => Math.floor(random() * 100)),
      Array.from({ length: 300 }, (_, i) => i),
      Array.from({ length: 300 }, (_, i) => 300 - i),
    ];
    for (const values of inputs) {
      let tracker = medianTrackerOf();
      const seen: number[] = [];
      for (const value of values) {
        tracker = medianAdd(tracker, value);
        seen.push(value);
        const sorted = [...seen].sort((a, b) => a - b);
        const n = sorted.length;
        expect(medianOf(tracker)).toBe((sorted[Math.floor((n - 1) / 2)]! + sorted[Math.floor(n / 2)]!) / 2);
      }
      expect(medianCount(tracker)).toBe(values.length);
    }
  });

  it('stays balanced (AVL depth) on sorted input and leaves older versions untouched', () => {
    let tracker: MedianTracker = medianTrackerOf();
    const versions: MedianTracker[] = [];
    for (let i = 0; i < 10_000; i++) {
      tracker = medianAdd(tracker, i);
      if (i === 9) versions.push(tracker);
    }
    expect(depth(tracker.root)).toBeLessThanOrEqual(Math.ceil(1.45 * Math.log2(10_001)));
    expect(medianCount(versions[0]!)).toBe(10);
    expect(medianOf(versions[0]!)).toBe(4.5);
  });
});
