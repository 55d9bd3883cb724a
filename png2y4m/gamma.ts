/**
 * The gamma arithmetic libpng applies while compositing onto bKGD (floating point, `pow`, as in
 * png_gamma_8bit_correct / png_build_16bit_table). Exponents are fixed point x100000.
 *
 * @example
 * const g = gammaSetup(45455); // gAMA 1/2.2
 * g.gammaMode                  // true
 * gammaTable8(g.to1)[128]      // linearised 8-bit value
 */
import { gammaSignificant } from './pngChunkHandlers.js';

export interface GammaSetup {
  /** File gamma G (100000 when the file gives none). */
  file: number;
  /** Screen gamma S = 1/G, as png_reciprocal computes it. */
  screen: number;
  /** Compositing happens in linear light. */
  gammaMode: boolean;
  /** Exponent of the file -> screen correction (about 1.0). */
  toScreen: number;
  /** Exponent of the file -> linear table. */
  to1: number;
  /** Exponent of the linear -> screen table. */
  from1: number;
}

export function gammaSetup(fileGamma: number): GammaSetup {
  const file = fileGamma || 100000;
  const screen = Math.floor(1e10 / file + 0.5);
  return {
    file,
    screen,
    gammaMode: gammaSignificant(file) || gammaSignificant(screen),
    toScreen: Math.floor(1e15 / file / screen + 0.5),
    to1: screen,
    from1: Math.floor(1e10 / screen + 0.5),
  };
}

/** png_gamma_8bit_correct. */
export function correct8(value: number, exponent: number): number {
  if (value > 0 && value < 255) return Math.floor(255 * Math.pow(value / 255, exponent * 0.00001) + 0.5);
  return value & 0xff;
}

/** png_gamma_16bit_correct. */
export function correct16(value: number, exponent: number): number {
  if (value > 0 && value < 65535) return Math.floor(65535 * Math.pow(value / 65535, exponent * 0.00001) + 0.5);
  return value & 0xffff;
}

/** png_build_8bit_table. */
export function gammaTable8(exponent: number): Uint8Array {
  const table = new Uint8Array(256);
  const significant = gammaSignificant(exponent);
  for (let i = 0; i < 256; i++) table[i] = significant ? correct8(i, exponent) : i;
  return table;
}

/**
 * png_build_16bit_table flattened to a direct lookup by 16-bit value: libpng indexes its table by
 * ig = (v >> 8) << (8 - shift) | (v & 0xff) >> shift, the top 16 - shift bits of v.
 */
export function gammaTable16(exponent: number, shift: number): Uint16Array {
  const table = new Uint16Array(65536);
  const max = (1 << (16 - shift)) - 1;
  const reciprocal = 1.0 / max;
  const significant = gammaSignificant(exponent);
  for (let v = 0; v < 65536; v++) {
    const ig = ((v >> 8) << (8 - shift)) + ((v & 0xff) >> shift);
    if (significant) table[v] = Math.floor(65535 * Math.pow(ig * reciprocal, exponent * 0.00001) + 0.5);
    else table[v] = shift === 0 ? ig : Math.floor((ig * 65535 + (1 << (15 - shift))) / max);
  }
  return table;
}

/** libpng's gamma_shift for 16-bit tables: from sBIT, at most 8. */
export function gammaShift(significantBits: number): number {
  return significantBits > 0 && significantBits < 16 ? Math.min(16 - significantBits, 8) : 0;
}
