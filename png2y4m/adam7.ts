/**
 * Scanline geometry: bytes per row, and the seven Adam7 passes (only passes with pixels carry
 * data in the stream).
 *
 * @example adam7Passes(3, 3) // [{ xStart: 0, yStart: 0, xStep: 8, yStep: 8, width: 1, height: 1 }, ...]
 */

export interface Pass {
  xStart: number;
  yStart: number;
  xStep: number;
  yStep: number;
  width: number;
  height: number;
}

const X_START = [0, 4, 0, 2, 0, 1, 0];
const Y_START = [0, 0, 4, 0, 2, 0, 1];
const X_STEP = [8, 8, 4, 4, 2, 2, 1];
const Y_STEP = [8, 8, 8, 4, 4, 2, 2];

/** The non-empty passes, in stream order. */
export function adam7Passes(width: number, height: number): Pass[] {
  const passes: Pass[] = [];
  for (let p = 0; p < 7; p++) {
    const [xStart, yStart, xStep, yStep] = [X_START[p]!, Y_START[p]!, X_STEP[p]!, Y_STEP[p]!];
    const w = width > xStart ? Math.ceil((width - xStart) / xStep) : 0;
    const h = height > yStart ? Math.ceil((height - yStart) / yStep) : 0;
    if (w > 0 && h > 0) passes.push({ xStart, yStart, xStep, yStep, width: w, height: h });
  }
  return passes;
}

export function rowBytes(width: number, bitsPerPixel: number): number {
  return Math.floor((width * bitsPerPixel + 7) / 8);
}
