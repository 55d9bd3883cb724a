/**
 * Unfiltered scanlines -> one Uint16Array of samples (row-major, `channels` per pixel, values at
 * the file's bit depth: 1/2/4-bit samples unpacked MSB first, 16-bit ones big-endian). Interlaced
 * images are de-interlaced into place pass by pass.
 *
 * @example
 * const samples = unpackSamples(raw, width, height, 16, 3, false); // 16-bit RGB
 */
import { endianness } from 'node:os';
import { adam7Passes, rowBytes } from './adam7.js';
import { unfilterRows } from './unfilter.js';

const LITTLE_ENDIAN = endianness() === 'LE';

/** Bytes of filtered data (scanlines with their filter bytes) the image needs. */
export function imageDataSize(width: number, height: number, bitDepth: number, channels: number, interlaced: boolean): number {
  const bits = bitDepth * channels;
  if (!interlaced) return height * (rowBytes(width, bits) + 1);
  return adam7Passes(width, height).reduce((sum, pass) => sum + pass.height * (rowBytes(pass.width, bits) + 1), 0);
}

/** Unfilters `raw` in place and unpacks it. */
export function unpackSamples(
  raw: Uint8Array,
  width: number,
  height: number,
  bitDepth: number,
  channels: number,
  interlaced: boolean,
): Uint16Array {
  const bits = bitDepth * channels;
  const bpp = Math.max(1, bits >> 3);
  const samples = new Uint16Array(width * height * channels);
  if (!interlaced) {
    const bytes = rowBytes(width, bits);
    unfilterRows(raw, 0, height, bytes, bpp);
    if (bitDepth === 16) {
      // Rows are whole big-endian samples: copy them as bytes, then swap every pair natively.
      const sampleBytes = new Uint8Array(samples.buffer);
      for (let y = 0; y < height; y++) sampleBytes.set(raw.subarray(y * (bytes + 1) + 1, (y + 1) * (bytes + 1)), y * bytes);
      if (LITTLE_ENDIAN) Buffer.from(samples.buffer).swap16();
      return samples;
    }
    for (let y = 0; y < height; y++) unpackRow(raw, y * (bytes + 1) + 1, width, bitDepth, channels, samples, y * width * channels, channels);
    return samples;
  }
  let offset = 0;
  for (const pass of adam7Passes(width, height)) {
    const bytes = rowBytes(pass.width, bits);
    unfilterRows(raw, offset, pass.height, bytes, bpp);
    for (let r = 0; r < pass.height; r++) {
      const y = pass.yStart + r * pass.yStep;
      const target = (y * width + pass.xStart) * channels;
      unpackRow(raw, offset + r * (bytes + 1) + 1, pass.width, bitDepth, channels, samples, target, pass.xStep * channels);
    }
    offset += pass.height * (bytes + 1);
  }
  return samples;
}

/** One row of `count` pixels from `src[at..]` into `dst[target + k * step ..]`. */
function unpackRow(
  src: Uint8Array,
  at: number,
  count: number,
  bitDepth: number,
  channels: number,
  dst: Uint16Array,
  target: number,
  step: number,
): void {
  if (bitDepth === 16) {
    for (let k = 0, p = at; k < count; k++) {
      const t = target + k * step;
      for (let c = 0; c < channels; c++, p += 2) dst[t + c] = (src[p]! << 8) | src[p + 1]!;
    }
  } else if (bitDepth === 8) {
    for (let k = 0, p = at; k < count; k++) {
      const t = target + k * step;
      for (let c = 0; c < channels; c++, p++) dst[t + c] = src[p]!;
    }
  } else {
    // Low depths only occur with one channel (gray or palette).
    const perByte = 8 / bitDepth;
    const mask = (1 << bitDepth) - 1;
    for (let k = 0; k < count; k++) {
      const byte = src[at + Math.floor(k / perByte)]!;
      const shift = 8 - bitDepth * ((k % perByte) + 1);
      dst[target + k * step] = (byte >> shift) & mask;
    }
  }
}
