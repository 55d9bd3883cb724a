/**
 * PNG decoding to 16-bit RGB: every colour type and depth, all filters, Adam7, libpng's
 * compositing rules (bKGD with alpha or tRNS, linear and gamma), and the fatal-or-warning outcome
 * of damaged files. Inputs are built with the test PNG encoder.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DecodeFailure, decodePng, type DecodedImage } from '../png2y4m/decodePng.js';
import { composite16, composite8 } from '../png2y4m/toRgb16.js';
import { chunk, encodeChunk, encodePng, ihdr, type EncodeOptions } from './support/pngEncoder.js';

function decode(png: Uint8Array): { image: DecodedImage; warnings: string[] } {
  const warnings: string[] = [];
  const image = decodePng(png, (w) => warnings.push(w));
  return { image, warnings };
}

function failure(png: Uint8Array): { line: string | null; warnings: string[] } {
  const warnings: string[] = [];
  try {
    decodePng(png, (w) => warnings.push(w));
  } catch (error) {
    if (error instanceof DecodeFailure) return { line: error.line, warnings };
    throw error;
  }
  throw new Error('decoded without error');
}

const rgbOf = (image: DecodedImage): number[][] =>
  Array.from({ length: image.width * image.height }, (_, p) => Array.from(image.rgb.subarray(p * 3, p * 3 + 3)));

const u16 = (hi: number, lo: number): number[] => [hi, lo];
const be16 = (v: number): number[] => u16(v >> 8, v & 0xff);

/** A 4x3 test image of the given format, with varied samples. */
function sampleImage(bitDepth: EncodeOptions['bitDepth'], colorType: EncodeOptions['colorType']): EncodeOptions {
  const max = 2 ** bitDepth - 1;
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  const pixels = Array.from({ length: 12 }, (_, p) =>
    Array.from({ length: channels }, (_, c) => (colorType === 3 ? p % (max + 1) : (p * 7919 + c * 104729) % (max + 1))),
  );
  const palette = colorType === 3 ? [chunk('PLTE', Array.from({ length: 3 * (max + 1) }, (_, i) => (i * 37) % 256))] : [];
  return { width: 4, height: 3, bitDepth, colorType, pixels, before: palette };
}

describe('colour types and bit depths (no bKGD)', () => {
  const formats: [EncodeOptions['bitDepth'], EncodeOptions['colorType']][] = [
    [1, 0], [2, 0], [4, 0], [8, 0], [16, 0], [8, 2], [16, 2], [1, 3], [2, 3], [4, 3], [8, 3], [8, 4], [16, 4], [8, 6], [16, 6],
  ];
  it.each(formats)('depth %i colour type %i expands to 16-bit RGB per libpng', (bitDepth, colorType) => {
    const options = sampleImage(bitDepth, colorType);
    const { image } = decode(encodePng(options));
    const expected = Array.from(options.pixels, (s) => {
      if (colorType === 3) {
        const i = s[0]! * 3;
        return [0, 1, 2].map((k) => ((i + k) * 37 % 256) * 257);
      }
      const widen = (v: number): number => (bitDepth === 16 ? v : bitDepth === 8 ? v * 257 : v * (255 / (2 ** bitDepth - 1)) * 257);
      return colorType & 2 ? [widen(s[0]!), widen(s[1]!), widen(s[2]!)] : [widen(s[0]!), widen(s[0]!), widen(s[0]!)];
    });
    expect(rgbOf(image)).toEqual(expected);
  });

  it.each([0, 1, 2, 3, 4])('reverses filter type %i, and Adam7 gives the same pixels', (filter) => {
    const pixels = Array.from({ length: 13 * 11 }, (_, p) => [(p * 4099) % 65536, (p * 911) % 65536, (p * 30011) % 65536]);
    const options: EncodeOptions = { ...sampleImage(16, 2), width: 13, height: 11, filter, pixels };
    const plain = decode(encodePng(options)).image;
    const interlaced = decode(encodePng({ ...options, interlace: true, filter: (row) => (row + filter) % 5 })).image;
    expect(rgbOf(plain)).toEqual(pixels);
    expect(rgbOf(interlaced)).toEqual(rgbOf(plain));
  });

  it('ignores alpha and tRNS when there is no bKGD', () => {
    const png = encodePng({
      width: 2, height: 1, bitDepth: 8, colorType: 2, pixels: [[0, 0, 0], [9, 9, 9]],
      before: [chunk('tRNS', [0, 0, 0, 0, 0, 0])],
    });
    expect(rgbOf(decode(png).image)).toEqual([[0, 0, 0], [9 * 257, 9 * 257, 9 * 257]]);
  });
});

describe('compositing onto bKGD', () => {
  it('composites 8-bit RGBA linearly without a significant gamma', () => {
    const png = encodePng({
      width: 3, height: 1, bitDepth: 8, colorType: 6,
      pixels: [[200, 100, 50, 0], [200, 100, 50, 255], [200, 100, 50, 128]],
      before: [chunk('bKGD', [...be16(40), ...be16(120), ...be16(250)])],
    });
    expect(rgbOf(decode(png).image)).toEqual([
      [40 * 257, 120 * 257, 250 * 257],
      [200 * 257, 100 * 257, 50 * 257],
      [composite8(200, 128, 40) * 257, composite8(100, 128, 120) * 257, composite8(50, 128, 250) * 257],
    ]);
  });

  it('composites 16-bit gray+alpha with png_composite_16', () => {
    const png = encodePng({
      width: 1, height: 1, bitDepth: 16, colorType: 4, pixels: [[50000, 30000]], before: [chunk('bKGD', be16(1000))],
    });
    const v = composite16(50000, 30000, 1000);
    expect(rgbOf(decode(png).image)).toEqual([[v, v, v]]);
  });

  it('uses the unscaled bKGD gray of a 4-bit file (libpng quirk)', () => {
    const png = encodePng({
      width: 2, height: 1, bitDepth: 4, colorType: 0, pixels: [[3], [5]],
      before: [chunk('tRNS', be16(3)), chunk('bKGD', be16(9))],
    });
    expect(rgbOf(decode(png).image)).toEqual([[9 * 257, 9 * 257, 9 * 257], [5 * 17 * 257, 5 * 17 * 257, 5 * 17 * 257]]);
  });

  it('goes through gamma tables when gAMA is significant', () => {
    // Independent evaluation of the spec's gamma-mode formula for one pixel.
    const G = 45455;
    const S = Math.floor(1e10 / G + 0.5);
    const from1 = Math.floor(1e10 / S + 0.5);
    const t8 = (v: number, e: number): number => (v === 0 || v === 255 ? v : Math.floor(255 * Math.pow(v / 255, e * 0.00001) + 0.5));
    const expected = [200, 100, 50].map((c, k) => t8(composite8(t8(c, S), 128, t8([40, 120, 250][k]!, S)), from1) * 257);
    const png = encodePng({
      width: 1, height: 1, bitDepth: 8, colorType: 6, pixels: [[200, 100, 50, 128]],
      before: [chunk('gAMA', [0, 0, 0xb1, 0x8f]), chunk('bKGD', [...be16(40), ...be16(120), ...be16(250)])],
    });
    expect(rgbOf(decode(png).image)).toEqual([expected]);
    // The same file with gamma 1.0 composites linearly.
    const linear = encodePng({
      width: 1, height: 1, bitDepth: 8, colorType: 6, pixels: [[200, 100, 50, 128]],
      before: [chunk('gAMA', [0, 1, 0x86, 0xa0]), chunk('bKGD', [...be16(40), ...be16(120), ...be16(250)])],
    });
    expect(rgbOf(decode(linear).image)).toEqual([[200, 100, 50].map((c, k) => composite8(c, 128, [40, 120, 250][k]!) * 257)]);
  });

  it('lets sRGB override gAMA, and ignores a gAMA after PLTE', () => {
    const pixels = [[200, 100, 50, 128]];
    const bkgd = chunk('bKGD', [...be16(40), ...be16(120), ...be16(250)]);
    const srgb = decode(encodePng({ width: 1, height: 1, bitDepth: 8, colorType: 6, pixels, before: [chunk('gAMA', [0, 1, 0x86, 0xa0]), chunk('sRGB', [0]), bkgd] }));
    const gama = decode(encodePng({ width: 1, height: 1, bitDepth: 8, colorType: 6, pixels, before: [chunk('gAMA', [0, 0, 0xb1, 0x8f]), bkgd] }));
    expect(rgbOf(srgb.image)).toEqual(rgbOf(gama.image));
    expect(srgb.warnings).toContain('sRGB: gamma value does not match sRGB');
    const late = decode(encodePng({ width: 1, height: 1, bitDepth: 8, colorType: 6, pixels, before: [chunk('PLTE', [1, 2, 3]), chunk('gAMA', [0, 0, 0xb1, 0x8f]), bkgd] }));
    expect(late.warnings).toContain('gAMA: out of place');
    expect(rgbOf(late.image)).toEqual([[200, 100, 50].map((c, k) => composite8(c, 128, [40, 120, 250][k]!) * 257)]);
  });

  it('composites palette entries with their tRNS alpha', () => {
    const png = encodePng({
      width: 3, height: 1, bitDepth: 8, colorType: 3, pixels: [[0], [1], [2]],
      before: [chunk('PLTE', [200, 100, 50, 10, 20, 30, 7, 8, 9]), chunk('tRNS', [0, 128]), chunk('bKGD', [2])],
    });
    expect(rgbOf(decode(png).image)).toEqual([
      [7 * 257, 8 * 257, 9 * 257],
      [composite8(10, 128, 7) * 257, composite8(20, 128, 8) * 257, composite8(30, 128, 9) * 257],
      [7 * 257, 8 * 257, 9 * 257],
    ]);
  });

  it('ignores an invalid bKGD with a warning', () => {
    const png = encodePng({
      width: 1, height: 1, bitDepth: 8, colorType: 6, pixels: [[200, 100, 50, 0]],
      before: [chunk('bKGD', [1, 0, 0, 0, 0, 0])],
    });
    const { image, warnings } = decode(png);
    expect(warnings).toEqual(['bKGD: invalid color']);
    expect(rgbOf(image)).toEqual([[200 * 257, 100 * 257, 50 * 257]]);
  });
});

describe('damaged and foreign files', () => {
  const good = (extra: Partial<EncodeOptions> = {}): Buffer =>
    encodePng({ width: 8, height: 8, bitDepth: 8, colorType: 2, pixels: Array.from({ length: 64 }, (_, p) => [p, p * 2, p * 3]), ...extra });

  it('reports empty, short and non-PNG input like the C tool', () => {
    expect(failure(new Uint8Array()).line).toBe('Error reading from file.');
    expect(failure(good().subarray(0, 7)).line).toBe('Error reading from file.');
    expect(failure(Buffer.from('This is not a PNG file')).line).toBe('Error: Not a PNG.');
  });

  it('fails with Read Error on truncation anywhere up to IEND, including a missing IEND', () => {
    const png = good();
    for (const cut of [8, 20, 33, 50, png.length - 13, png.length - 1]) {
      expect(failure(png.subarray(0, cut)).line).toBe('libpng error: Read Error');
    }
    expect(failure(good({ omitIend: true })).line).toBe('libpng error: Read Error');
    expect(decode(Buffer.concat([png, Buffer.from('trailing junk')])).image.width).toBe(8);
  });

  it('fails on a critical chunk CRC error but only warns about an ancillary one', () => {
    const bad = good();
    bad[bad.length - 12 - 1]! ^= 0xff; // last byte of the IDAT CRC
    expect(failure(bad).line).toBe('libpng error: IDAT: CRC error');
    const { image, warnings } = decode(good({ before: [chunk('tEXt', Buffer.from('a\0b'), true)] }));
    expect(warnings).toEqual(['tEXt: CRC error']);
    expect(image.height).toBe(8);
  });

  it('rejects unknown critical chunks, bad chunk names and invalid headers', () => {
    expect(failure(good({ before: [chunk('ABCD', [1])] })).line).toBe('libpng error: ABCD: unhandled critical chunk');
    expect(decode(good({ before: [chunk('abCD', [1])] })).warnings).toEqual([]);
    expect(failure(good({ before: [chunk('a1CD', [1])] })).line).toBe('libpng error: a[31]CD: invalid chunk type');
    const header = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
    const depth3 = Buffer.concat([header, encodeChunk(ihdr(4, 4, 3, 0)), encodeChunk(chunk('IEND'))]);
    expect(failure(depth3)).toEqual({ line: 'libpng error: Invalid IHDR data', warnings: ['Invalid bit depth in IHDR'] });
    const wide = Buffer.concat([header, encodeChunk(ihdr(1000001, 1, 8, 0)), encodeChunk(chunk('IEND'))]);
    expect(failure(wide).warnings).toEqual(['Image width exceeds user limit in IHDR']);
    const huge = Buffer.concat([header, encodeChunk(ihdr(1000000, 3000, 8, 0)), encodeChunk(chunk('IDAT', [0]))]);
    expect(failure(huge).line).toBeNull();
  });

  it('requires IHDR before IDAT and PLTE for palette images', () => {
    const header = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
    expect(failure(Buffer.concat([header, encodeChunk(chunk('IDAT', [1]))])).line).toBe('libpng error: IDAT: Missing IHDR before IDAT');
    const png = encodePng({ width: 1, height: 1, bitDepth: 8, colorType: 3, pixels: [[0]] });
    expect(failure(png).line).toBe('libpng error: IDAT: Missing PLTE before IDAT');
  });

  it('fails on damaged or short image data, warns about data beyond the image', () => {
    const corrupt = good({ stream: (z) => Buffer.concat([z.subarray(0, 2), Buffer.from([0xff, 0xff]), z.subarray(4)]) });
    expect(failure(corrupt).line).toMatch(/^libpng error: IDAT: invalid /);
    // Only half the rows in the stream: it ends before the image does.
    const halfRows = (z: Buffer): Buffer => deflateSync(inflateSync(z).subarray(0, 4 * 25));
    expect(failure(good({ stream: halfRows })).line).toBe('libpng error: Not enough image data');
    // A stream cut short with no more IDAT after it.
    expect(failure(good({ stream: (z) => z.subarray(0, 20) })).line).toBe('libpng error: Not enough image data');
    const extra = good({ stream: (z) => Buffer.concat([z, Buffer.from('extra')]) });
    expect(decode(extra).warnings).toEqual(['IDAT: Extra compressed data']);
  });

  it('treats a bad Adler-32 as fatal when libpng meets it while reading rows, else as a warning', () => {
    const flip = (z: Buffer): Buffer => Buffer.concat([z.subarray(0, -1), Buffer.from([z.at(-1)! ^ 1])]);
    expect(failure(good({ stream: flip })).line).toBe('libpng error: IDAT: incorrect data check');
    // With the checksum alone in a later IDAT, the rows are complete before libpng reads it.
    const split = (z: Buffer): Buffer => flip(z);
    const compressedLength = good().readUInt32BE(33);
    const { image, warnings } = decode(good({ stream: split, idatSize: compressedLength - 4 }));
    expect(image.width).toBe(8);
    expect(warnings).toEqual(['IDAT: incorrect data check']);
  });

  it('accepts image data split over many IDAT chunks, including empty ones', () => {
    const pixels = Array.from({ length: 64 }, (_, p) => [p, p * 2, p * 3]);
    const { image } = decode(encodePng({ width: 8, height: 8, bitDepth: 8, colorType: 2, pixels, idatSize: 7 }));
    expect(rgbOf(image)).toEqual(pixels.map((p) => p.map((v) => v * 257)));
    const withEmpty = encodePng({ width: 8, height: 8, bitDepth: 8, colorType: 2, pixels, after: [chunk('IDAT'), chunk('tEXt', Buffer.from('k\0v')), chunk('IDAT')] });
    expect(decode(withEmpty).warnings).toEqual(['..Too many IDATs found']);
  });
});
