/**
 * C `atol` as the reference tool uses it: glibc `strtol` in base 10, then stored in an `int`.
 * Leading C-locale whitespace, an optional sign, then digits; anything after is ignored, no digits
 * gives 0, overflow saturates at the 64-bit limits, and the 64-bit result is truncated to 32 bits
 * two's-complement (so `4294967297` is 1 and `99999999999999999999` is -1).
 *
 * @example atolInt32('  12xyz') // 12
 */
export function atolInt32(text: string): number {
  let i = 0;
  while (i < text.length && isCSpace(text.charCodeAt(i))) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') {
    negative = text[i] === '-';
    i++;
  }
  const bound = 1n << 63n;
  let magnitude = 0n;
  let digits = 0;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) break;
    // Once past the bound only the saturated value matters, so stop growing the number.
    if (magnitude <= bound) magnitude = magnitude * 10n + BigInt(code - 48);
    digits++;
  }
  if (digits === 0) return 0;
  let value = negative ? -magnitude : magnitude;
  if (value > bound - 1n) value = bound - 1n;
  if (value < -bound) value = -bound;
  return Number(BigInt.asIntN(32, value));
}

/** isspace() in the C locale. */
export function isCSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}
