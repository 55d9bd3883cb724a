/**
 * Exact integer division helpers on doubles. Every operand in the colour maths stays below 2^53,
 * so a double holds it exactly; only the quotient needs care, because `n / d` is rounded. The
 * rounded quotient can land on the next integer up, never below, hence the single correction.
 *
 * @example
 * floorDiv(-7, 2) // -4
 * rhaz(-5, 2)     // -3 (round half away from zero)
 */

/** floor(n / d) for integers n and d > 0, |n| < 2^53. */
export function floorDiv(n: number, d: number): number {
  const q = Math.floor(n / d);
  return q * d > n ? q - 1 : q;
}

/**
 * Round half away from zero of n / d, as the spec's RHAZ(x, d) for d > 0 and a result within
 * int32 (every use is a byte or a dither offset): the magnitude rounded, the sign put back by
 * two's complement (`(q ^ s) - s` negates q when s is -1). No branch on the sign, which is random
 * for dither offsets, and no -0 (a sign multiplied in gives -0 for a zero result, which deoptimises
 * V8's integer code on its first appearance).
 */
export function rhaz(n: number, d: number): number {
  const sign = -bit(n < 0);
  return (floorDiv(Math.abs(n) + Math.floor(d / 2), d) ^ sign) - sign;
}

/**
 * 1 or 0 for a comparison, without a branch (`|` converts the boolean; V8 emits a setcc). For
 * the per-pixel choices that are as good as random, where a mispredicted branch costs more than
 * the arithmetic it skips.
 */
export function bit(flag: boolean): number {
  return (flag as unknown as number) | 0;
}

/** Reduce an integer modulo 2^32 to a signed 32-bit value, as gcc's wrapping int arithmetic does. */
export function wrap32(n: number): number {
  return n | 0;
}
