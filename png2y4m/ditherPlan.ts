/**
 * The dither a frame receives depends only on its size and chroma mode: the PRNG restarts for
 * every frame and always draws 12 deviates per 2x2 block. This precomputes, per block and per
 * block position, the three integer offsets added to R, G and B, so a long sequence computes them
 * once. Layout: block-major (block rows, then block columns), 4 positions x (dR, dG, dB).
 *
 * @example
 * const plan = ditherPlan(1024, 436, '420'); // Int16Array(blocks * 12)
 */
import { rhaz } from './intMath.js';
import { DITHER_RANGE_CB, DITHER_RANGE_CR, DITHER_RANGE_Y, Kiss99, triangular } from './kiss99.js';
import type { ChromaMode } from './options.js';

export function ditherPlan(width: number, height: number, chroma: ChromaMode): Int16Array {
  const blocks = Math.ceil(width / 2) * Math.ceil(height / 2);
  const plan = new Int16Array(blocks * 12);
  const hstep = chroma === '444' ? 1 : 0;
  const vstep = chroma === '420' ? 0 : 2;
  const chromaIndex = [0, hstep, vstep, vstep + hstep];
  const rng = new Kiss99();
  const yd = [0, 0, 0, 0];
  const cbd = [0, 0, 0, 0];
  const crd = [0, 0, 0, 0];
  for (let block = 0; block < blocks; block++) {
    for (let k = 0; k < 4; k++) {
      yd[k] = triangular(rng, DITHER_RANGE_Y);
      cbd[k] = triangular(rng, DITHER_RANGE_CB);
      crd[k] = triangular(rng, DITHER_RANGE_CR);
    }
    const base = block * 12;
    for (let k = 0; k < 4; k++) {
      const y = yd[k]!;
      const b = cbd[chromaIndex[k]!]!;
      const r = crd[chromaIndex[k]!]!;
      plan[base + k * 3] = rhaz(2 * y + 3 * r, 8176000);
      plan[base + k * 3 + 1] = rhaz(2384 * y + 361 * b + 1063 * r, 9745792000);
      plan[base + k * 3 + 2] = rhaz(2 * y + 3 * b, 8176000);
    }
  }
  return plan;
}
