/**
 * The dither a frame receives depends only on its size and chroma mode: the PRNG restarts for
 * every frame and always draws 12 deviates per 2x2 block. This precomputes, per block and per
 * block position, the three integer offsets added to R, G and B, so a long sequence computes them
 * once. Layout: block-major (block rows, then block columns), 4 positions x (dR, dG, dB).
 *
 * This is the hottest loop of the tool (about 30 generator steps per block), so the generator of
 * kiss99.ts and the deviate are inlined here over local variables; the unit tests check that the
 * two stay in step. A process computes one plan and V8 starts it interpreted: the blocks go in
 * small runs through {@link planBlocks}, a function V8 compiles after a few calls, because one
 * loop over all blocks stays in slow on-stack-replaced code for the whole first plan (65 ms cold
 * against 24 warm; in runs, about 37 cold).
 *
 * @example
 * const plan = ditherPlan(1024, 436, '420'); // Int16Array(blocks * 12)
 */
import { bit, rhaz } from './intMath.js';
import { DITHER_RANGE_CB, DITHER_RANGE_CR, DITHER_RANGE_Y, KISS99_SEED } from './kiss99.js';
import type { ChromaMode } from './options.js';

const N_Y = DITHER_RANGE_Y + 1;
const N_CB = DITHER_RANGE_CB + 1;
const N_CR = DITHER_RANGE_CR + 1;
const M_Y = Math.floor(0xffffffff / N_Y) * N_Y;
const M_CB = Math.floor(0xffffffff / N_CB) * N_CB;
const M_CR = Math.floor(0xffffffff / N_CR) * N_CR;

/** Blocks per {@link planBlocks} call: small enough that V8 compiles it early, large enough to amortise the call. */
const BLOCKS_PER_RUN = 16;

export function ditherPlan(width: number, height: number, chroma: ChromaMode): Int16Array {
  const blocks = Math.ceil(width / 2) * Math.ceil(height / 2);
  const plan = new Int16Array(blocks * 12);
  const hstep = chroma === '444' ? 1 : 0;
  const vstep = chroma === '420' ? 0 : 2;
  // Offset in a block's deviates of the chroma each position k uses.
  const chromaOffsets = new Int32Array([0, hstep * 3, vstep * 3, (vstep + hstep) * 3]);
  const generator = new Int32Array([KISS99_SEED.z, KISS99_SEED.w, KISS99_SEED.jsr, KISS99_SEED.jcong]);
  const deviates = new Float64Array(12);
  for (let block = 0; block < blocks; block += BLOCKS_PER_RUN) {
    planBlocks(generator, deviates, chromaOffsets, plan, block * 12, Math.min(blocks, block + BLOCKS_PER_RUN) * 12);
  }
  return plan;
}

/**
 * The plan's entries from `start` to `end` (whole blocks), continuing the generator whose words
 * (z, w, jsr, jcong as int32 bit patterns) `generator` holds; `deviates` is scratch for one block.
 */
function planBlocks(generator: Int32Array, deviates: Float64Array, chromaOffsets: Int32Array, plan: Int16Array, start: number, end: number): void {
  // Locals rather than the module's constants, which a bundle turns into `var`s (esbuild does, for
  // every top-level const) that V8 must load again on every use instead of folding them: in the
  // loop that doubles the plan's time.
  const [nY, nCb, nCr, mY, mCb, mCr] = [N_Y, N_CB, N_CR, M_Y, M_CB, M_CR];
  // Plain int32 locals (no closure captures them), which V8 keeps in registers.
  let z = generator[0]!;
  let w = generator[1]!;
  let jsr = generator[2]!;
  let jcong = generator[3]!;
  for (let base = start; base < end; base += 12) {
    // Deviates in draw order: (y, cb, cr) for k = 0..3.
    for (let d = 0; d < 12; d++) {
      const channel = d % 3;
      const n = channel === 0 ? nY : channel === 1 ? nCb : nCr;
      const m = channel === 0 ? mY : channel === 1 ? mCb : mCr;
      let r1: number;
      do {
        z = (Math.imul(36969, z & 0xffff) + (z >>> 16)) | 0;
        w = (Math.imul(18000, w & 0xffff) + (w >>> 16)) | 0;
        jsr ^= jsr << 17;
        jsr ^= jsr >>> 13;
        jsr ^= jsr << 5;
        jcong = (Math.imul(69069, jcong) + 1234567) | 0;
        r1 = ((((z << 16) + w) ^ jcong) + jsr) >>> 0;
      } while (r1 >= m);
      let r2: number;
      do {
        z = (Math.imul(36969, z & 0xffff) + (z >>> 16)) | 0;
        w = (Math.imul(18000, w & 0xffff) + (w >>> 16)) | 0;
        jsr ^= jsr << 17;
        jsr ^= jsr >>> 13;
        jsr ^= jsr << 5;
        jcong = (Math.imul(69069, jcong) + 1234567) | 0;
        r2 = ((((z << 16) + w) ^ jcong) + jsr) >>> 0;
      } while (r2 >= m);
      // r mod n for r < m = q * n with q <= 3: two conditional subtractions, without branches.
      r1 -= n * bit(r1 >= n);
      r1 -= n * bit(r1 >= n);
      r2 -= n * bit(r2 >= n);
      r2 -= n * bit(r2 >= n);
      deviates[d] = r1 - r2;
    }
    for (let k = 0; k < 4; k++) {
      const y = deviates[k * 3]!;
      const c = chromaOffsets[k]!;
      const b = deviates[c + 1]!;
      const r = deviates[c + 2]!;
      plan[base + k * 3] = rhaz(2 * y + 3 * r, 8176000);
      plan[base + k * 3 + 1] = rhaz(2384 * y + 361 * b + 1063 * r, 9745792000);
      plan[base + k * 3 + 2] = rhaz(2 * y + 3 * b, 8176000);
    }
  }
  generator[0] = z;
  generator[1] = w;
  generator[2] = jsr;
  generator[3] = jcong;
}
