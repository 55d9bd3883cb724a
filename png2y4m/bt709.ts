/**
 * RGB (16 bits per channel) to 8-bit BT.709 studio-swing Y'CbCr with the reference tool's exact
 * integer arithmetic: 2x2 blocks, optional dither offsets (see ditherPlan.ts), chroma from the
 * block's (or pair's, or pixel's) dithered sums, and luma chosen between two candidates by the
 * squared reconstruction error, computed in wrapping 32-bit int as the C code does.
 *
 * @example
 * const planes = allocatePlanes(w, h, '420');
 * convertFrame(rgb, w, h, '420', ditherPlan(w, h, '420'), planes);
 */
import { bit, floorDiv, rhaz } from './intMath.js';
import type { ChromaMode } from './options.js';

export interface Planes {
  y: Uint8Array;
  cb: Uint8Array;
  cr: Uint8Array;
  chromaWidth: number;
  chromaHeight: number;
}

export function chromaSize(width: number, height: number, chroma: ChromaMode): { chromaWidth: number; chromaHeight: number } {
  return {
    chromaWidth: chroma === '444' ? width : Math.ceil(width / 2),
    chromaHeight: chroma === '420' ? Math.ceil(height / 2) : height,
  };
}

export function allocatePlanes(width: number, height: number, chroma: ChromaMode): Planes {
  const { chromaWidth, chromaHeight } = chromaSize(width, height, chroma);
  return {
    y: new Uint8Array(width * height),
    cb: new Uint8Array(chromaWidth * chromaHeight),
    cr: new Uint8Array(chromaWidth * chromaHeight),
    chromaWidth,
    chromaHeight,
  };
}

/** Cb from channel sums over n pixels, with f = 4 / n. */
export function cbFromSums(sr: number, sg: number, sb: number, f: number): number {
  const v = rhaz(f * (-29764 * sr - 100128 * sg + 129892 * sb), 304016865) + 128;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Cr from channel sums over n pixels, with f = 4 / n. */
export function crFromSums(sr: number, sg: number, sb: number, f: number): number {
  const v = rhaz(f * (110236 * sr - 100128 * sg - 10108 * sb), 258011295) + 128;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const SCALE = 9745792000;
const HALF_SCALE = SCALE / 2;
const Y_DIVISOR = 1780026171875;
const Y_STEP = 2916394880000;
/** Y_STEP = Y_STEP_QUOTIENT * SCALE + Y_STEP_REMAINDER (299 and about a quarter of SCALE). */
const Y_STEP_QUOTIENT = Math.floor(Y_STEP / SCALE);
const Y_STEP_REMAINDER = Y_STEP - Y_STEP_QUOTIENT * SCALE;

/**
 * Reconstructed channel for luma candidate y (before the +16 offset) and chroma term k. Once
 * clamped, RHAZ's branch for a negative numerator makes no difference (both roundings give <= 0),
 * so this is one floor division.
 */
function reconstruct(y: number, k: number): number {
  const v = floorDiv(Y_STEP * y + k + HALF_SCALE, SCALE);
  return v < 0 ? 0 : v > 65535 ? 65535 : v;
}

const K_R = 4490222169144;
const K_GB = -534117096223;
const K_GR = -1334761232047;
const K_B = 5290866304968;

/**
 * Reconstructed R for every (candidate y + 16, Cr byte) and B for every (y + 16, Cb byte): G
 * depends on both chroma values and is computed directly. Built on first use (about a millisecond).
 */
let reconstructTables: { r: Int32Array; b: Int32Array } | null = null;

function tables(): { r: Int32Array; b: Int32Array } {
  if (reconstructTables) return reconstructTables;
  const r = new Int32Array(65536);
  const b = new Int32Array(65536);
  for (let y = -16; y < 240; y++) {
    for (let c = 0; c < 256; c++) {
      r[((y + 16) << 8) | c] = reconstruct(y, K_R * (c - 128));
      b[((y + 16) << 8) | c] = reconstruct(y, K_B * (c - 128));
    }
  }
  reconstructTables = { r, b };
  return reconstructTables;
}

/**
 * Y byte of one dithered pixel given the (clamped) Cb and Cr bytes that apply to it. This runs for
 * every pixel, and which candidate wins is as good as random (dither), so the choices that depend
 * on the data are computed from comparisons as 0/1 instead of branched on (a mispredicted branch
 * costs more than the arithmetic).
 */
export function lumaFor(r: number, g: number, b: number, cbByte: number, crByte: number): number {
  const { r: rTable, b: bTable } = tables();
  const cb = cbByte - 128;
  const cr = crByte - 128;
  const kg = K_GB * cb + K_GR * cr;
  // Division by 8192 is exact in binary floating point, so floor() needs no correction here.
  const rr = Math.floor((r * SCALE - K_R * cr + 4096) / 8192);
  const gg = Math.floor((g * SCALE - kg + 4096) / 8192);
  const bb = Math.floor((b * SCALE - K_B * cb + 4096) / 8192);
  let y0 = floorDiv(1063 * rr + 3576 * gg + 361 * bb, Y_DIVISOR);
  if (y0 < -16) y0 = -16;
  else if (y0 > 238) y0 = 238;
  // G of both candidates from one quotient: y0 + 1 adds Y_STEP_QUOTIENT, plus one when the
  // remainder carries over.
  const n0 = Y_STEP * y0 + kg + HALF_SCALE;
  const q0 = floorDiv(n0, SCALE);
  const q1 = q0 + Y_STEP_QUOTIENT + bit(n0 - q0 * SCALE + Y_STEP_REMAINDER >= SCALE);
  const g0 = q0 < 0 ? 0 : q0 > 65535 ? 65535 : q0;
  const g1 = q1 < 0 ? 0 : q1 > 65535 ? 65535 : q1;
  const row0 = (y0 + 16) << 8;
  const row1 = row0 + 256;
  // Differences fit in int32; squares summed with Math.imul wrap modulo 2^32 exactly like the
  // C int arithmetic (the sum of wrapped terms is the wrapped sum).
  let dr = (r - rTable[row0 | crByte]!) | 0;
  let dg = (g - g0) | 0;
  let db = (b - bTable[row0 | cbByte]!) | 0;
  const err0 = (Math.imul(dr, dr) + Math.imul(dg, dg) + Math.imul(db, db)) | 0;
  dr = (r - rTable[row1 | crByte]!) | 0;
  dg = (g - g1) | 0;
  db = (b - bTable[row1 | cbByte]!) | 0;
  const err1 = (Math.imul(dr, dr) + Math.imul(dg, dg) + Math.imul(db, db)) | 0;
  // y0 + 1 when its error is smaller; on a tie the even one of the two.
  return y0 + 16 + (bit(err1 < err0) | (bit(err1 === err0) & y0));
}

/**
 * Convert one frame. `rgb` holds width*height RGB triples; `plan` is the frame's dither plan or
 * null for --no-dither. Output goes to `planes` (from allocatePlanes with the same geometry).
 */
export function convertFrame(
  rgb: Uint16Array,
  width: number,
  height: number,
  chroma: ChromaMode,
  plan: Int16Array | null,
  planes: Planes,
): void {
  const { y: Y, cb: CB, cr: CR, chromaWidth: cw } = planes;
  const stride = width * 3;
  let o = 0;
  for (let j = 0; j < height; j += 2) {
    const has2 = j + 1 < height;
    for (let i = 0; i < width; i += 2, o += 12) {
      const has1 = i + 1 < width;
      const p0 = j * stride + i * 3;
      let r0 = rgb[p0]!;
      let g0 = rgb[p0 + 1]!;
      let b0 = rgb[p0 + 2]!;
      if (plan !== null) {
        r0 += plan[o]!;
        g0 += plan[o + 1]!;
        b0 += plan[o + 2]!;
      }
      let r1 = r0;
      let g1 = g0;
      let b1 = b0;
      if (has1) {
        r1 = rgb[p0 + 3]!;
        g1 = rgb[p0 + 4]!;
        b1 = rgb[p0 + 5]!;
        if (plan !== null) {
          r1 += plan[o + 3]!;
          g1 += plan[o + 4]!;
          b1 += plan[o + 5]!;
        }
      }
      let r2 = r0;
      let g2 = g0;
      let b2 = b0;
      let r3 = r1;
      let g3 = g1;
      let b3 = b1;
      if (has2) {
        const p2 = p0 + stride;
        r2 = rgb[p2]!;
        g2 = rgb[p2 + 1]!;
        b2 = rgb[p2 + 2]!;
        if (plan !== null) {
          r2 += plan[o + 6]!;
          g2 += plan[o + 7]!;
          b2 += plan[o + 8]!;
        }
        if (has1) {
          r3 = rgb[p2 + 3]!;
          g3 = rgb[p2 + 4]!;
          b3 = rgb[p2 + 5]!;
          if (plan !== null) {
            r3 += plan[o + 9]!;
            g3 += plan[o + 10]!;
            b3 += plan[o + 11]!;
          }
        } else {
          r3 = r2;
          g3 = g2;
          b3 = b2;
        }
      }
      const y0 = j * width + i;
      const y2 = y0 + width;
      if (chroma === '420') {
        const sr = r0 + r1 + r2 + r3;
        const sg = g0 + g1 + g2 + g3;
        const sb = b0 + b1 + b2 + b3;
        const cb = cbFromSums(sr, sg, sb, 1);
        const cr = crFromSums(sr, sg, sb, 1);
        const c = (j >> 1) * cw + (i >> 1);
        CB[c] = cb;
        CR[c] = cr;
        Y[y0] = lumaFor(r0, g0, b0, cb, cr);
        if (has1) Y[y0 + 1] = lumaFor(r1, g1, b1, cb, cr);
        if (has2) {
          Y[y2] = lumaFor(r2, g2, b2, cb, cr);
          if (has1) Y[y2 + 1] = lumaFor(r3, g3, b3, cb, cr);
        }
      } else if (chroma === '422') {
        const cbTop = cbFromSums(r0 + r1, g0 + g1, b0 + b1, 2);
        const crTop = crFromSums(r0 + r1, g0 + g1, b0 + b1, 2);
        const c = j * cw + (i >> 1);
        CB[c] = cbTop;
        CR[c] = crTop;
        Y[y0] = lumaFor(r0, g0, b0, cbTop, crTop);
        if (has1) Y[y0 + 1] = lumaFor(r1, g1, b1, cbTop, crTop);
        if (has2) {
          const cbBottom = cbFromSums(r2 + r3, g2 + g3, b2 + b3, 2);
          const crBottom = crFromSums(r2 + r3, g2 + g3, b2 + b3, 2);
          CB[c + cw] = cbBottom;
          CR[c + cw] = crBottom;
          Y[y2] = lumaFor(r2, g2, b2, cbBottom, crBottom);
          if (has1) Y[y2 + 1] = lumaFor(r3, g3, b3, cbBottom, crBottom);
        }
      } else {
        let cb = cbFromSums(r0, g0, b0, 4);
        let cr = crFromSums(r0, g0, b0, 4);
        CB[y0] = cb;
        CR[y0] = cr;
        Y[y0] = lumaFor(r0, g0, b0, cb, cr);
        if (has1) {
          cb = cbFromSums(r1, g1, b1, 4);
          cr = crFromSums(r1, g1, b1, 4);
          CB[y0 + 1] = cb;
          CR[y0 + 1] = cr;
          Y[y0 + 1] = lumaFor(r1, g1, b1, cb, cr);
        }
        if (has2) {
          cb = cbFromSums(r2, g2, b2, 4);
          cr = crFromSums(r2, g2, b2, 4);
          CB[y2] = cb;
          CR[y2] = cr;
          Y[y2] = lumaFor(r2, g2, b2, cb, cr);
          if (has1) {
            cb = cbFromSums(r3, g3, b3, 4);
            cr = crFromSums(r3, g3, b3, 4);
            CB[y2 + 1] = cb;
            CR[y2 + 1] = cr;
            Y[y2 + 1] = lumaFor(r3, g3, b3, cb, cr);
          }
        }
      }
    }
  }
}
