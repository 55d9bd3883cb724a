/**
 * A dither plan depends only on the frame's width, height and chroma mode (png2y4m/ditherPlan.ts),
 * and computing one costs about as much as converting the frame. A worker converts frame after
 * frame of one shape, so the in-process png2y4m keeps the last few plans. Plans are shared, never
 * copied: the converter only reads them.
 *
 * @example
 * const plans = createDitherPlanCache(2);
 * plans.get(1024, 436, '420') === plans.get(1024, 436, '420'); // true: computed once
 */
import { ditherPlan } from '../png2y4m/ditherPlan.js';
import type { ChromaMode } from '../png2y4m/options.js';

/** Shapes kept by default: a job has one; two covers a switch without thrashing. */
export const DEFAULT_DITHER_PLAN_SHAPES = 2;

export interface DitherPlanCache {
  /** The plan for this shape, computed on a miss (the least recently used shape is dropped). */
  get(width: number, height: number, chroma: ChromaMode): Int16Array;
  /** Shapes currently kept, most recently used last (e.g. `1024x436:420`). */
  shapes(): string[];
}

export function createDitherPlanCache(limit: number = DEFAULT_DITHER_PLAN_SHAPES, compute: typeof ditherPlan = ditherPlan): DitherPlanCache {
  // A Map iterates in insertion order: re-inserting on a hit keeps it in recency order.
  const plans = new Map<string, Int16Array>();
  return {
    get(width, height, chroma) {
      const key = `${width}x${height}:${chroma}`;
      let plan = plans.get(key);
      if (plan) {
        plans.delete(key);
      } else {
        plan = compute(width, height, chroma);
        while (plans.size >= Math.max(1, limit)) plans.delete(plans.keys().next().value!);
      }
      plans.set(key, plan);
      return plan;
    },
    shapes: () => [...plans.keys()],
  };
}
