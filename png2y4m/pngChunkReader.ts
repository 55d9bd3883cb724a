/**
 * Sequential chunk reading over an in-memory PNG with libpng 1.6's failure semantics: a short read
 * anywhere is `Read Error`; chunk headers are validated the way png_read_chunk_header does; the CRC
 * is accumulated as data is read and checked by `finish()`, which warns for ancillary chunks (the
 * chunk is then ignored) and fails for critical ones.
 *
 * @example
 * const reader = new ChunkReader(bytes, 8, warn);
 * const length = reader.readHeader();   // reader.name is now e.g. CHUNK.IHDR
 * const body = reader.read(length);
 * if (reader.finish(0)) { ...ancillary chunk with a bad CRC: ignore it... }
 */
import { crc32 } from './crc32.js';

/** A libpng error: `message` is what libpng prints after `libpng error: `. */
export class LibpngError extends Error {
  override readonly name = 'LibpngError';
}

export type Warn = (message: string) => void;

export const CHUNK = {
  IHDR: 0x49484452,
  PLTE: 0x504c5445,
  IDAT: 0x49444154,
  IEND: 0x49454e44,
  bKGD: 0x624b4744,
  cHRM: 0x6348524d,
  eXIf: 0x65584966,
  gAMA: 0x67414d41,
  hIST: 0x68495354,
  iCCP: 0x69434350,
  iTXt: 0x69545874,
  oFFs: 0x6f464673,
  pCAL: 0x7043414c,
  pHYs: 0x70485973,
  sBIT: 0x73424954,
  sCAL: 0x7343414c,
  sPLT: 0x73504c54,
  sRGB: 0x73524742,
  tEXt: 0x74455874,
  tIME: 0x74494d45,
  tRNS: 0x74524e53,
  zTXt: 0x7a545874,
} as const;

const UINT31_MAX = 0x7fffffff;

export function isAncillary(name: number): boolean {
  return ((name >>> 29) & 1) === 1;
}

/** libpng's rendering of a chunk name in messages: non-letters as [XX]. */
export function chunkLabel(name: number): string {
  let out = '';
  for (let shift = 24; shift >= 0; shift -= 8) {
    const c = (name >>> shift) & 0xff;
    out += isLetter(c) ? String.fromCharCode(c) : `[${c.toString(16).toUpperCase().padStart(2, '0')}]`;
  }
  return out;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

export class ChunkReader {
  /** Name of the chunk whose header was read last. */
  name = 0;
  private crc = 0;

  constructor(
    readonly bytes: Uint8Array,
    /** Next byte libpng would read. */
    public pos: number,
    readonly warn: Warn,
  ) {}

  /** Error attributed to the current chunk, like png_chunk_error. */
  chunkError(message: string): LibpngError {
    return new LibpngError(`${chunkLabel(this.name)}: ${message}`);
  }

  chunkWarning(message: string): void {
    this.warn(`${chunkLabel(this.name)}: ${message}`);
  }

  /** png_read_chunk_header, minus the length limit (see checkChunkLength in the caller). */
  readHeader(): number {
    const header = this.take(8);
    const length = readUint32(header, 0);
    if (length > UINT31_MAX) throw new LibpngError('PNG unsigned integer out of range');
    this.name = readUint32(header, 4);
    this.crc = crc32(header.subarray(4, 8));
    for (let shift = 0; shift < 32; shift += 8) {
      if (!isLetter((this.name >>> shift) & 0xff)) throw this.chunkError('invalid chunk type');
    }
    return length;
  }

  /** png_crc_read: chunk data that enters the CRC. */
  read(length: number): Uint8Array {
    const data = this.take(length);
    this.crc = crc32(data, this.crc);
    return data;
  }

  /** png_crc_finish: skip `skip` data bytes, then check the CRC. True when it was wrong (ancillary). */
  finish(skip: number): boolean {
    if (skip > 0) this.read(skip);
    const stored = readUint32(this.take(4), 0);
    if (stored === this.crc) return false;
    if (!isAncillary(this.name)) throw this.chunkError('CRC error');
    this.chunkWarning('CRC error');
    return true;
  }

  private take(length: number): Uint8Array {
    if (this.pos + length > this.bytes.length) throw new LibpngError('Read Error');
    const data = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return data;
  }
}
