/**
 * PNG -> 16-bit RGB exactly as the reference tool gets it from libpng 1.6: its own signature
 * check, libpng's chunk rules and messages (png_read_info, image data, png_read_end), then the
 * requested transformations. Decoding uses node:zlib for inflate and our own chunk reader.
 *
 * @example
 * try {
 *   const { width, height, rgb } = decodePng(bytes, (w) => process.stderr.write(`libpng warning: ${w}\n`));
 * } catch (error) {
 *   if (error instanceof DecodeFailure && error.line) process.stderr.write(`${error.line}\n`);
 * }
 */
import { checkChunkLength, handleChunk } from './pngChunkHandlers.js';
import { CHUNK, ChunkReader, LibpngError, type Warn } from './pngChunkReader.js';
import { MODE, createPngState } from './pngState.js';
import { readImageData } from './idatReader.js';
import type { InflatedAhead } from './inflateAhead.js';
import { toRgb16 } from './toRgb16.js';
import { imageDataSize, unpackSamples } from './unpackSamples.js';

/** A PNG the tool cannot convert; `line` is what it prints (null: the tool fails silently). */
export class DecodeFailure extends Error {
  override readonly name = 'DecodeFailure';
  constructor(readonly line: string | null) {
    super(line ?? 'image too large');
  }
}

export interface DecodedImage {
  width: number;
  height: number;
  /** width * height RGB triples, 16 bits per channel. */
  rgb: Uint16Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const INT_MAX = 0x7fffffff;

/** `ahead`: its image data already inflated (inflateAhead.ts), if it was. */
export function decodePng(bytes: Uint8Array, warn: Warn, ahead?: InflatedAhead): DecodedImage {
  if (bytes.length < 8) throw new DecodeFailure('Error reading from file.');
  if (SIGNATURE.some((b, i) => bytes[i] !== b)) throw new DecodeFailure('Error: Not a PNG.');
  try {
    return decodeAfterSignature(bytes, warn, ahead);
  } catch (error) {
    if (error instanceof LibpngError) throw new DecodeFailure(`libpng error: ${error.message}`);
    throw error;
  }
}

function decodeAfterSignature(bytes: Uint8Array, warn: Warn, ahead: InflatedAhead | undefined): DecodedImage {
  const state = createPngState();
  const reader = new ChunkReader(bytes, 8, warn);
  // png_read_info: everything up to the first IDAT.
  let firstLength: number;
  for (;;) {
    const length = reader.readHeader();
    checkChunkLength(state, reader, length);
    if (reader.name === CHUNK.IDAT) {
      if (!(state.mode & MODE.HAVE_IHDR)) throw reader.chunkError('Missing IHDR before IDAT');
      if (state.colorType === 3 && !(state.mode & MODE.HAVE_PLTE)) throw reader.chunkError('Missing PLTE before IDAT');
      state.mode |= MODE.HAVE_IDAT;
      firstLength = length;
      break;
    }
    handleChunk(state, reader, length);
  }
  const { width, height, bitDepth, channels } = state;
  // The tool's own limit, checked before it allocates the image: no message.
  if (width * height > INT_MAX) throw new DecodeFailure(null);

  const interlaced = state.interlace === 1;
  const needed = imageDataSize(width, height, bitDepth, channels, interlaced);
  const raw = readImageData(state, reader, firstLength, needed, ahead);
  const samples = unpackSamples(raw, width, height, bitDepth, channels, interlaced);

  // png_read_end: the chunks after the image data, up to IEND.
  if (state.colorType === 3) {
    let maxIndex = 0;
    for (let i = 0; i < samples.length; i++) if (samples[i]! > maxIndex) maxIndex = samples[i]!;
    if (maxIndex > state.numPalette) warn('Read palette index exceeding num_palette');
  }
  while (!(state.mode & MODE.HAVE_IEND)) {
    const length = reader.readHeader();
    checkChunkLength(state, reader, length);
    if (reader.name !== CHUNK.IDAT) state.mode |= MODE.CHUNK_AFTER_IDAT;
    if (reader.name === CHUNK.IDAT) {
      if (state.mode & MODE.CHUNK_AFTER_IDAT) warn('..Too many IDATs found');
      reader.finish(length);
    } else {
      handleChunk(state, reader, length);
    }
  }
  return { width, height, rgb: toRgb16(state, samples) };
}
