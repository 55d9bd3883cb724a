/**
 * The median of a growing multiset of numbers, as immutable plain data: an AVL tree whose nodes
 * count their subtree, so adding copies one root-to-leaf path (O(log n)) and the median is two
 * O(log n) walks. The supervisor keeps one in its context (finished chunks' durations); being
 * immutable, every snapshot keeps its own, and the depth stays O(log n) for anything walking it.
 *
 * @example
 * const m = [5, 1, 9].reduce(medianAdd, medianTrackerOf());
 * medianOf(m) // 5
 */

export interface MedianNode {
  readonly value: number;
  readonly left: MedianNode | null;
  readonly right: MedianNode | null;
  readonly height: number;
  readonly size: number;
}

export interface MedianTracker {
  readonly root: MedianNode | null;
}

export function medianTrackerOf(): MedianTracker {
  return { root: null };
}

export function medianCount(tracker: MedianTracker): number {
  return tracker.root?.size ?? 0;
}

/** A new tracker holding `value` too; the old one is untouched. */
export function medianAdd(tracker: MedianTracker, value: number): MedianTracker {
  return { root: insert(tracker.root, value) };
}

/** The median (the mean of the two middle values for an even count); undefined when empty. */
export function medianOf(tracker: MedianTracker): number | undefined {
  const { root } = tracker;
  if (!root) return undefined;
  const low = select(root, Math.floor((root.size - 1) / 2));
  const high = select(root, Math.floor(root.size / 2));
  return (low + high) / 2;
}

const height = (node: MedianNode | null): number => node?.height ?? 0;
const size = (node: MedianNode | null): number => node?.size ?? 0;

function node(value: number, left: MedianNode | null, right: MedianNode | null): MedianNode {
  return { value, left, right, height: 1 + Math.max(height(left), height(right)), size: 1 + size(left) + size(right) };
}

function insert(at: MedianNode | null, value: number): MedianNode {
  if (!at) return node(value, null, null);
  return value < at.value ? balance(at.value, insert(at.left, value), at.right) : balance(at.value, at.left, insert(at.right, value));
}

/** Rebuild a node whose subtrees differ in height by at most 2, rotating back to AVL balance. */
function balance(value: number, left: MedianNode | null, right: MedianNode | null): MedianNode {
  const tilt = height(left) - height(right);
  if (tilt > 1) {
    const l = left!;
    if (height(l.left) >= height(l.right)) return node(l.value, l.left, node(value, l.right, right));
    const lr = l.right!;
    return node(lr.value, node(l.value, l.left, lr.left), node(value, lr.right, right));
  }
  if (tilt < -1) {
    const r = right!;
    if (height(r.right) >= height(r.left)) return node(r.value, node(value, left, r.left), r.right);
    const rl = r.left!;
    return node(rl.value, node(value, left, rl.left), node(r.value, rl.right, r.right));
  }
  return node(value, left, right);
}

/** The value of rank `k` (0-based, in order); `k` must be below the tree's size. */
function select(root: MedianNode, k: number): number {
  let at: MedianNode = root;
  let rank = k;
  for (;;) {
    const below = size(at.left);
    if (rank < below) at = at.left!;
    else if (rank === below) return at.value;
    else {
      rank -= below + 1;
      at = at.right!;
    }
  }
}
