/**
 * A frame's image data inflated on libuv's thread pool while the main thread does something else
 * (the dither plan, converting the frame before), instead of by the decoder's fast path, which
 * would inflate the very same bytes with the very same options (idatReader.ts). The IDAT run is
 * found by a walk over the chunks that validates nothing: the decoder still reads and checks
 * every chunk as before, and takes the result only for the run and output size it finds itself.
 *
 * @example
 * const ahead = inflateAhead(bytes); // undefined: no plausible IHDR, or no complete IDAT run
 * const decoded = decodeFrame(bytes, shape, await ahead?.done);
 */
import { inflate } from 'node:zlib';
import { fastInflateOptions, scanRun, type Inflated } from './idatReader.js';
import { CHUNK, readUint32 } from './pngChunkReader.js';
import { imageDataSize } from './unpackSamples.js';

export interface InflatedAhead {
  /** The file's bytes (the very buffer, not equal ones), */
  source: Uint8Array;
  /** the offset of the first IDAT's data in them, and that chunk's length. */
  dataStart: number;
  firstLength: number;
  /** Bytes of image data the IHDR asks for. */
  needed: number;
  /** zlib's result; null when it failed, and the decoder takes its slow path, as it would have. */
  inflated: Inflated | null;
}

const IHDR_LENGTH = 13;
/** libpng's default user limit on width and height. */
const PNG_USER_LIMIT = 1_000_000;
const INT_MAX = 0x7fffffff;

/** An inflation under way, and the size the IHDR gives (what a successful decoding will find). */
export interface InflationAhead {
  width: number;
  height: number;
  done: Promise<InflatedAhead>;
}

export function inflateAhead(bytes: Uint8Array): InflationAhead | undefined {
  // Signature, then the IHDR where png_read_info requires it.
  if (bytes.length < 8 + 8 + IHDR_LENGTH || readUint32(bytes, 8) !== IHDR_LENGTH || readUint32(bytes, 12) !== CHUNK.IHDR) return undefined;
  const width = readUint32(bytes, 16);
  const height = readUint32(bytes, 20);
  const [bitDepth, colorType, interlace] = [bytes[24]!, bytes[25]!, bytes[28]!];
  // Nothing is allocated for a header the decoder would refuse before inflating (libpng's limits
  // and the tool's own): this work is only a guess.
  const plausible = width >= 1 && height >= 1 && width <= PNG_USER_LIMIT && height <= PNG_USER_LIMIT && width * height <= INT_MAX;
  if (!plausible || ![1, 2, 4, 8, 16].includes(bitDepth) || ![0, 2, 3, 4, 6].includes(colorType) || interlace > 1) return undefined;
  const channels = colorType === 2 ? 3 : colorType === 4 ? 2 : colorType === 6 ? 4 : 1;
  const needed = imageDataSize(width, height, bitDepth, channels, interlace === 1);
  let at = 8;
  while (at + 8 <= bytes.length && readUint32(bytes, at + 4) !== CHUNK.IDAT) at += 12 + readUint32(bytes, at);
  if (at + 8 > bytes.length) return undefined;
  const dataStart = at + 8;
  const firstLength = readUint32(bytes, at);
  const { chunks, stream } = scanRun(bytes, dataStart, firstLength);
  // The fast path only inflates a run whose chunks are all there.
  if (!chunks.every((chunk) => chunk.complete)) return undefined;
  let resolveDone!: (ahead: InflatedAhead) => void;
  const done = new Promise<InflatedAhead>((resolve) => (resolveDone = resolve));
  try {
    inflate(stream, fastInflateOptions(needed), (error, result) => {
      const info = result as unknown as { buffer: Buffer; engine: { bytesWritten: number } } | undefined;
      const inflated = error || !info ? null : { buffer: info.buffer, consumed: info.engine.bytesWritten };
      resolveDone({ source: bytes, dataStart, firstLength, needed, inflated });
    });
  } catch {
    // Refused at once (an output larger than a buffer can be): the decoder meets that itself.
    return undefined;
  }
  return { width, height, done };
}
