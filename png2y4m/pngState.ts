/**
 * What libpng remembers while reading a PNG: the IHDR fields, the mode flags that decide whether a
 * chunk is in place, and the ancillary data the transformations use (palette, tRNS, bKGD, sBIT
 * and the colourspace gamma). Filled in by the chunk handlers, read by toRgb16.
 *
 * @example const state = createPngState(); // then handleChunk(state, reader, length) per chunk
 */

export const MODE = {
  HAVE_IHDR: 0x01,
  HAVE_PLTE: 0x02,
  HAVE_IDAT: 0x04,
  AFTER_IDAT: 0x08,
  HAVE_IEND: 0x10,
  CHUNK_AFTER_IDAT: 0x2000,
} as const;

export const COLORSPACE = {
  HAVE_GAMMA: 0x0001,
  HAVE_INTENT: 0x0004,
  FROM_gAMA: 0x0008,
  FROM_sRGB: 0x0020,
  INVALID: 0x8000,
} as const;

/** Gamma 1/2.2 as libpng stores it for sRGB (fixed point, x100000). */
export const GAMMA_sRGB_INVERSE = 45455;

export interface PngState {
  mode: number;
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
  channels: number;
  /** 256 RGB entries, zero beyond numPalette (libpng allocates the palette zeroed). */
  palette: Uint8Array;
  numPalette: number;
  trnsValid: boolean;
  /** libpng's num_trans: 0 means no transparency is applied even if trnsValid. */
  numTrans: number;
  trnsAlpha: Uint8Array;
  trnsGray: number;
  trnsRed: number;
  trnsGreen: number;
  trnsBlue: number;
  bkgdValid: boolean;
  bkgdIndex: number;
  bkgdRed: number;
  bkgdGreen: number;
  bkgdBlue: number;
  bkgdGray: number;
  sbitValid: boolean;
  sbitRed: number;
  sbitGreen: number;
  sbitBlue: number;
  sbitGray: number;
  colorspaceFlags: number;
  /** File gamma x100000; 0 when never set. */
  gamma: number;
  intent: number;
}

export function createPngState(): PngState {
  return {
    mode: 0,
    width: 0,
    height: 0,
    bitDepth: 0,
    colorType: 0,
    interlace: 0,
    channels: 0,
    palette: new Uint8Array(768),
    numPalette: 0,
    trnsValid: false,
    numTrans: 0,
    trnsAlpha: new Uint8Array(256),
    trnsGray: 0,
    trnsRed: 0,
    trnsGreen: 0,
    trnsBlue: 0,
    bkgdValid: false,
    bkgdIndex: 0,
    bkgdRed: 0,
    bkgdGreen: 0,
    bkgdBlue: 0,
    bkgdGray: 0,
    sbitValid: false,
    sbitRed: 0,
    sbitGreen: 0,
    sbitBlue: 0,
    sbitGray: 0,
    colorspaceFlags: 0,
    gamma: 0,
    intent: 0,
  };
}
