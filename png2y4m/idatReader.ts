/**
 * Reads the image data of a PNG (the run of IDAT chunks) the way libpng 1.6's sequential reader
 * does, so damaged files fail or pass exactly as they would with the reference tool.
 *
 * Fast path (every valid file): inflate all IDAT data at once with node:zlib; the stream must end
 * cleanly and yield at least the bytes the image needs.
 *
 * Slow path (anything else): libpng feeds zlib 8 KiB pieces (never crossing a chunk), checks a
 * chunk's CRC only when it moves to the next chunk, stops inflating as soon as the rows are full,
 * and treats a zlib failure after the last row as a warning unless it shows up in the very call
 * that filled the last row. Node offers no resumable synchronous inflate, so zlib's progress at
 * each piece boundary is measured by inflating prefixes (binary search, cached) and the reading is
 * replayed piece by piece against those measurements.
 *
 * @example
 * const length = reader.readHeader(); // an IDAT header, reached from png_read_info
 * const raw = readImageData(state, reader, length, neededBytes); // filtered scanlines
 */
import { constants, inflateSync, type ZlibOptions } from 'node:zlib';
import type { InflatedAhead } from './inflateAhead.js';
import { checkChunkLength } from './pngChunkHandlers.js';
import { CHUNK, ChunkReader, LibpngError, readUint32 } from './pngChunkReader.js';
import type { PngState } from './pngState.js';

/** libpng's PNG_IDAT_READ_SIZE: bytes handed to zlib per call. */
const IDAT_READ_SIZE = 8192;
const UINT31_MAX = 0x7fffffff;
/** node:zlib's smallest output piece. */
const MIN_CHUNK = constants.Z_MIN_CHUNK;

interface RunChunk {
  /** Offset of the chunk's data in the concatenated stream. */
  zStart: number;
  length: number;
  /** Data and CRC are all present in the file. */
  complete: boolean;
}

/** The fast path's inflation of a whole IDAT stream: the output, and the input bytes zlib used. */
export interface Inflated {
  buffer: Buffer;
  consumed: number;
}

/**
 * The fast path's zlib options for an image of `needed` bytes: the output in one piece of the
 * expected size (one more byte shows there is too much), no 16 KiB pieces to gather.
 */
export function fastInflateOptions(needed: number): ZlibOptions & { info: true } {
  return { info: true, chunkSize: Math.max(MIN_CHUNK, needed + 1) };
}

/**
 * `reader` is just past the header of the first IDAT (length `firstLength`). `ahead`: the same
 * inflation done beforehand (inflateAhead.ts), used only if it is of this very run and size.
 */
export function readImageData(state: PngState, reader: ChunkReader, firstLength: number, needed: number, ahead?: InflatedAhead): Uint8Array {
  const { chunks, stream } = scanRun(reader.bytes, reader.pos, firstLength);
  if (chunks.every((chunk) => chunk.complete)) {
    const same = ahead !== undefined && ahead.source === reader.bytes && ahead.dataStart === reader.pos && ahead.firstLength === firstLength && ahead.needed === needed;
    const fast = tryFastPath(state, reader, chunks, stream, needed, same ? () => ahead.inflated : undefined);
    if (fast) return fast;
  }
  return replay(state, reader, firstLength, stream, needed);
}

/** The consecutive IDAT chunks from the first one, without side effects. */
export function scanRun(bytes: Uint8Array, dataStart: number, firstLength: number): { chunks: RunChunk[]; stream: Uint8Array } {
  const chunks: RunChunk[] = [];
  const parts: Uint8Array[] = [];
  let zStart = 0;
  let start = dataStart;
  let length = firstLength;
  for (;;) {
    const available = Math.max(0, Math.min(length, bytes.length - start));
    const complete = start + length + 4 <= bytes.length;
    chunks.push({ zStart, length, complete });
    parts.push(bytes.subarray(start, start + available));
    zStart += available;
    if (!complete) break;
    const next = start + length + 4;
    if (next + 8 > bytes.length) break;
    const nextLength = readUint32(bytes, next);
    if (readUint32(bytes, next + 4) !== CHUNK.IDAT || nextLength > UINT31_MAX) break;
    start = next + 8;
    length = nextLength;
  }
  const stream = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return { chunks, stream };
}

function tryFastPath(
  state: PngState,
  reader: ChunkReader,
  chunks: RunChunk[],
  stream: Uint8Array,
  needed: number,
  inflated: () => Inflated | null = () => inflateNow(stream, needed),
): Uint8Array | null {
  if (stream.length > 0 && stream[0]! >> 4 > 7) return null;
  const result = inflated();
  if (result === null) return null;
  const { buffer: output, consumed } = result;
  if (output.length < needed) return null;
  // Read (and CRC-check) every chunk up to the one holding the end of the stream.
  let last = 0;
  while (last + 1 < chunks.length && chunks[last + 1]!.zStart < consumed) last++;
  for (let c = 0; c <= last; c++) {
    if (c > 0) {
      const length = reader.readHeader();
      checkChunkLength(state, reader, length);
    }
    reader.read(chunks[c]!.length);
    reader.finish(0);
  }
  const ending = chunks[last]!;
  if (consumed < ending.zStart + ending.length) reader.chunkWarning('Extra compressed data');
  if (output.length > needed) reader.chunkWarning('Too much image data');
  return output;
}

/** The fast path's inflation, here and now; null when zlib fails. */
function inflateNow(stream: Uint8Array, needed: number): Inflated | null {
  try {
    const result = inflateSync(stream, fastInflateOptions(needed)) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    return { buffer: result.buffer, consumed: result.engine.bytesWritten };
  } catch {
    return null;
  }
}

interface Probe {
  out: number;
  error: string | null;
  ended: boolean;
  consumed: number;
}

/** zlib's progress on a prefix of the stream, with libpng's view of errors. */
class StreamProbe {
  private readonly cache = new Map<number, Probe>();

  constructor(private readonly stream: Uint8Array) {}

  at(k: number): Probe {
    const hit = this.cache.get(k);
    if (hit) return hit;
    const probe = this.measure(k);
    this.cache.set(k, probe);
    return probe;
  }

  inflatePrefix(k: number): Buffer {
    return inflateSync(this.stream.subarray(0, k), { finishFlush: constants.Z_SYNC_FLUSH });
  }

  private measure(k: number): Probe {
    if (k === 0) return { out: 0, error: null, ended: false, consumed: 0 };
    // png_zlib_inflate refuses a window size zlib itself would reject, with its own message.
    if (this.stream[0]! >> 4 > 7) return { out: 0, error: 'invalid window size (libpng)', ended: false, consumed: 0 };
    const prefix = this.stream.subarray(0, k);
    try {
      const result = inflateSync(prefix, { finishFlush: constants.Z_SYNC_FLUSH, info: true }) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
      const consumed = result.engine.bytesWritten;
      let ended = consumed < k;
      if (!ended) {
        try {
          inflateSync(prefix);
          ended = true;
        } catch {
          ended = false;
        }
      }
      return { out: result.buffer.length, error: null, ended, consumed };
    } catch (error) {
      return { out: 0, error: zlibMessage(error), ended: false, consumed: k };
    }
  }
}

function zlibMessage(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'Z_NEED_DICT') return 'missing LZ dictionary';
  if (code === 'Z_BUF_ERROR') return 'truncated';
  return error instanceof Error && error.message ? error.message : 'damaged LZ stream';
}

/** Smallest k in [lo, hi] with test(k), or hi + 1. */
function firstTrue(lo: number, hi: number, test: (k: number) => boolean): number {
  let a = lo;
  let b = hi + 1;
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    if (test(mid)) b = mid;
    else a = mid + 1;
  }
  return a;
}

function replay(state: PngState, reader: ChunkReader, firstLength: number, stream: Uint8Array, needed: number): Uint8Array {
  const probe = new StreamProbe(stream);
  const total = probe.at(stream.length);
  // Where zlib fails (prefix length), and how much it produced before that.
  const errorAt = total.error === null ? Infinity : firstTrue(1, stream.length, (k) => probe.at(k).error !== null);
  const goodUntil = errorAt === Infinity ? stream.length : errorAt - 1;
  const produced = (k: number): number => probe.at(Math.min(k, goodUntil)).out;
  const outTotal = produced(stream.length);
  const endAt = total.error === null && total.ended ? total.consumed : Infinity;
  const errorMessage = total.error ?? '';
  // The prefix after which the rows are complete.
  const rowsAt = outTotal >= needed ? firstTrue(0, goodUntil, (k) => produced(k) >= needed) : Infinity;

  let remaining = firstLength; // unread data bytes of the current chunk
  let zpos = 0;
  let pending = false; // zlib still holds input from the current piece
  const loadPiece = (): void => {
    while (remaining === 0) {
      reader.finish(0);
      const length = reader.readHeader();
      checkChunkLength(state, reader, length);
      if (reader.name !== CHUNK.IDAT) throw new LibpngError('Not enough image data');
      remaining = length;
    }
    const n = Math.min(IDAT_READ_SIZE, remaining);
    reader.read(n);
    remaining -= n;
    zpos += n;
    pending = true;
  };
  const streamEnded = (): void => {
    if (endAt < zpos || remaining > 0) reader.chunkWarning('Extra compressed data');
    if (outTotal < needed) throw new LibpngError('Not enough image data');
    if (outTotal > needed) reader.chunkWarning('Too much image data');
  };

  // Row pass: inflate until the rows are full.
  let ended = false;
  for (;;) {
    loadPiece();
    if (errorAt <= zpos) {
      if (produced(errorAt - 1) <= needed) throw reader.chunkError(errorMessage);
      break; // rows filled with output to spare: the checking pass meets the error
    }
    if (endAt <= zpos) {
      streamEnded();
      ended = true;
      break;
    }
    if (rowsAt <= zpos) {
      pending = produced(zpos) > needed;
      break;
    }
  }

  // Checking pass (png_read_finish_IDAT): swallow what remains of the stream.
  if (!ended) {
    let extra = 0;
    do {
      if (!pending) loadPiece();
      pending = false;
      if (errorAt <= zpos) {
        reader.chunkWarning(errorMessage);
        break;
      }
      if (endAt <= zpos) {
        streamEnded();
        break;
      }
      if (extra <= 0) extra = produced(zpos) - needed;
    } while (extra > 0);
  }
  reader.finish(remaining);
  return probe.inflatePrefix(goodUntil).subarray(0, needed);
}
