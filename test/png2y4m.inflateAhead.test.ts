/**
 * png2y4m's image data inflated ahead on the thread pool (png2y4m/inflateAhead.ts): a frame
 * decoded with it decodes exactly as without it, damaged or not, and the decoder takes it only
 * for the very bytes it was computed from.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../png2y4m/frameDecoding.js';
import { inflateAhead } from '../png2y4m/inflateAhead.js';
import { chunk, encodeChunk, encodePng, ihdr, type EncodeOptions } from './support/pngEncoder.js';

const SHAPE = { width: 8, height: 8 };
const pixelsOf = (seed: number): number[][] => Array.from({ length: 64 }, (_, p) => [(p * seed) % 256, (p * 2 + seed) % 256, (p * 3) % 256]);
const png = (extra: Partial<EncodeOptions> = {}, seed = 1): Buffer => encodePng({ width: 8, height: 8, bitDepth: 8, colorType: 2, pixels: pixelsOf(seed), ...extra });
const flipLast = (z: Buffer): Buffer => Buffer.concat([z.subarray(0, -1), Buffer.from([z.at(-1)! ^ 1])]);
const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

describe('image data inflated ahead', () => {
  const files: [string, Buffer][] = [
    ['a plain file', png()],
    ['16-bit, Adam7', encodePng({ width: 8, height: 8, bitDepth: 16, colorType: 2, pixels: pixelsOf(3).map((p) => p.map((v) => v * 251)), interlace: true })],
    ['IDAT split in pieces with empty ones', png({ idatSize: 7, after: [chunk('IDAT'), chunk('IDAT')] })],
    ['an IDAT CRC error', (() => {
      const bad = png();
      bad[bad.length - 13]! ^= 0xff;
      return bad;
    })()],
    ['a corrupt stream', png({ stream: (z) => Buffer.concat([z.subarray(0, 2), Buffer.from([0xff, 0xff]), z.subarray(4)]) })],
    ['half the rows', png({ stream: (z) => deflateSync(inflateSync(z).subarray(0, 4 * 25)) })],
    ['a stream cut short', png({ stream: (z) => z.subarray(0, 20) })],
    ['extra compressed data', png({ stream: (z) => Buffer.concat([z, Buffer.from('extra')]) })],
    ['a bad Adler-32', png({ stream: flipLast })],
    ['a bad Adler-32 alone in the last IDAT', png({ stream: flipLast, idatSize: png().readUInt32BE(33) - 4 })],
    ['a truncated IDAT run', png().subarray(0, 50)],
    ['another size', encodePng({ width: 5, height: 3, bitDepth: 8, colorType: 0, pixels: Array.from({ length: 15 }, (_, p) => [p]) })],
  ];

  it.each(files)('decodes %s exactly as without it', async (_what, bytes) => {
    const ahead = await inflateAhead(bytes)?.done;
    expect(decodeFrame(bytes, SHAPE, ahead)).toEqual(decodeFrame(bytes, SHAPE));
  });

  it('is taken for the bytes it was computed from, and for no others, however alike', async () => {
    const mine = png({ idatSize: 7 }, 1);
    const other = png({ idatSize: 7 }, 5);
    const [own, others] = [await inflateAhead(mine)!.done, await inflateAhead(other)!.done];
    // The same layout: only the buffer tells them apart.
    expect([others.dataStart, others.firstLength, others.needed]).toEqual([own.dataStart, own.firstLength, own.needed]);
    const plain = decodeFrame(mine, SHAPE);
    expect(decodeFrame(mine, SHAPE, others)).toEqual(plain);
    expect(decodeFrame(Buffer.from(mine), SHAPE, own)).toEqual(plain);
    // Its own bytes: the decoder uses what it is given instead of inflating again.
    expect(decodeFrame(mine, SHAPE, { ...own, inflated: others.inflated })).toEqual(decodeFrame(other, SHAPE));
  });

  it('tells the size from the IHDR, and starts nothing for a header the decoder refuses before inflating', () => {
    expect(inflateAhead(png())).toMatchObject({ width: 8, height: 8 });
    const file = (...chunks: Parameters<typeof encodeChunk>[0][]): Buffer => Buffer.concat([SIGNATURE, ...chunks.map(encodeChunk), encodeChunk(chunk('IEND'))]);
    expect(inflateAhead(file(ihdr(1000000, 3000, 8, 0), chunk('IDAT', [0])))).toBeUndefined();
    expect(inflateAhead(file(ihdr(1000001, 1, 8, 0), chunk('IDAT', [0])))).toBeUndefined();
    expect(inflateAhead(file(ihdr(4, 4, 3, 0), chunk('IDAT', [0])))).toBeUndefined();
    // Within every limit, but more image data than one buffer holds: zlib refuses at once.
    expect(inflateAhead(file(ihdr(1000000, 2147, 16, 6), chunk('IDAT', [0])))).toBeUndefined();
    expect(inflateAhead(file(chunk('IDAT', [1])))).toBeUndefined();
    expect(inflateAhead(file(ihdr(4, 4, 8, 0)))).toBeUndefined();
    expect(inflateAhead(Buffer.from('This is not a PNG file'))).toBeUndefined();
  });
});
