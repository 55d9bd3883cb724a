/**
 * Marsaglia's KISS99 generator (32-bit unsigned arithmetic) with the reference tool's fixed seed,
 * and the triangular deviate built on it by rejection sampling. Both are re-seeded per frame.
 *
 * @example
 * const rng = new Kiss99();
 * rng.next()              // 769445856
 * triangular(rng, 1223320000)
 */
/** The reference tool's seed, restored at the start of every frame. */
export const KISS99_SEED = { z: 362436069, w: 521288629, jsr: 123456789, jcong: 380116160 } as const;

export class Kiss99 {
  private z: number = KISS99_SEED.z;
  private w: number = KISS99_SEED.w;
  private jsr: number = KISS99_SEED.jsr;
  private jcong: number = KISS99_SEED.jcong;

  /** Next 32-bit output, as a non-negative number. */
  next(): number {
    // The multiply-with-carry halves stay below 2^32, so plain doubles hold them exactly.
    this.z = 36969 * (this.z & 0xffff) + (this.z >>> 16);
    this.w = 18000 * (this.w & 0xffff) + (this.w >>> 16);
    const mwc = ((this.z << 16) + this.w) >>> 0;
    let s = this.jsr;
    s ^= s << 17;
    s ^= s >>> 13;
    s ^= s << 5;
    this.jsr = s >>> 0;
    this.jcong = (Math.imul(69069, this.jcong) + 1234567) >>> 0;
    return (((mwc ^ this.jcong) >>> 0) + this.jsr) >>> 0;
  }
}

/** (r1 mod n) - (r2 mod n) for n = range + 1, each draw retried until below the largest multiple of n. */
export function triangular(rng: Kiss99, range: number): number {
  const n = range + 1;
  const m = Math.floor(0xffffffff / n) * n;
  let r1 = rng.next();
  while (r1 >= m) r1 = rng.next();
  let r2 = rng.next();
  while (r2 >= m) r2 = rng.next();
  return (r1 % n) - (r2 % n);
}

/** Deviate ranges for Y, Cb and Cr dither. */
export const DITHER_RANGE_Y = 1223320000;
export const DITHER_RANGE_CB = 1479548743;
export const DITHER_RANGE_CR = 1255654969;
