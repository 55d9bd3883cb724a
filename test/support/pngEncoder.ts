/**
 * A small PNG writer for tests and benchmarks: any colour type and bit depth, optional Adam7
 * interlacing, a chosen filter per scanline, extra chunks anywhere, and deliberate damage (bad
 * CRCs, split IDATs, missing IEND) for the error-path tests.
 *
 * @example
 * const png = encodePng({ width: 2, height: 1, bitDepth: 8, colorType: 2, pixels: [[255, 0, 0], [0, 0, 255]] });
 */
import { deflateSync } from 'node:zlib';
import { crc32Portable } from '../../png2y4m/crc32.js';

export interface PngChunk {
  type: string;
  data: Uint8Array;
  /** Store a wrong CRC for this chunk. */
  badCrc?: boolean;
}

export interface EncodeOptions {
  width: number;
  height: number;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Row-major pixels, each an array of samples at the bit depth (one index for palettes). */
  pixels: ArrayLike<ArrayLike<number>>;
  interlace?: boolean;
  /** Filter type per scanline (0-4), default 0; a function gets the scanline index. */
  filter?: number | ((row: number) => number);
  /** Chunks after IHDR, before IDAT. */
  before?: PngChunk[];
  /** Chunks after the image data, before IEND. */
  after?: PngChunk[];
  /** Split the compressed stream into IDAT chunks of this many bytes. */
  idatSize?: number;
  /** Replace the compressed stream (for damaged-data tests). */
  stream?: (compressed: Buffer) => Uint8Array;
  omitIend?: boolean;
}

export function chunk(type: string, data: Uint8Array | number[] = [], badCrc = false): PngChunk {
  return { type, data: Uint8Array.from(data), badCrc };
}

export function encodeChunk({ type, data, badCrc }: PngChunk): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  const crc = crc32Portable(out.subarray(4, 8 + data.length));
  out.writeUInt32BE((badCrc ? crc ^ 1 : crc) >>> 0, 8 + data.length);
  return out;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

export function ihdr(width: number, height: number, bitDepth: number, colorType: number, interlace = 0): PngChunk {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([bitDepth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

export function encodePng(options: EncodeOptions): Buffer {
  const { width, height, bitDepth, colorType } = options;
  const channels = CHANNELS[colorType];
  const bitsPerPixel = bitDepth * channels;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const scanlines: Buffer[] = [];
  let row = 0;
  const filterFor = (index: number): number =>
    typeof options.filter === 'function' ? options.filter(index) : (options.filter ?? 0);
  const emitRows = (xs: number[], ys: number[]): void => {
    const rowBytes = Math.ceil((xs.length * bitsPerPixel) / 8);
    let previous = Buffer.alloc(rowBytes);
    for (const y of ys) {
      const raw = Buffer.alloc(rowBytes);
      xs.forEach((x, k) => packPixel(raw, k, options.pixels[y * width + x]!, bitDepth, channels));
      const type = filterFor(row++);
      scanlines.push(Buffer.concat([Buffer.from([type]), filterRow(raw, previous, type, bpp)]));
      previous = raw;
    }
  };
  const range = (start: number, end: number, step: number): number[] => {
    const out: number[] = [];
    for (let v = start; v < end; v += step) out.push(v);
    return out;
  };
  if (options.interlace) {
    for (const [x0, y0, dx, dy] of ADAM7) {
      const xs = range(x0, width, dx);
      const ys = range(y0, height, dy);
      if (xs.length > 0 && ys.length > 0) emitRows(xs, ys);
    }
  } else {
    emitRows(range(0, width, 1), range(0, height, 1));
  }
  const compressed = deflateSync(Buffer.concat(scanlines));
  const stream = options.stream ? options.stream(compressed) : compressed;
  const idats: PngChunk[] = [];
  const size = options.idatSize ?? Math.max(1, stream.length);
  for (let at = 0; at < stream.length || idats.length === 0; at += size) idats.push(chunk('IDAT', stream.subarray(at, at + size)));
  const parts = [
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    encodeChunk(ihdr(width, height, bitDepth, colorType, options.interlace ? 1 : 0)),
    ...(options.before ?? []).map(encodeChunk),
    ...idats.map(encodeChunk),
    ...(options.after ?? []).map(encodeChunk),
  ];
  if (!options.omitIend) parts.push(encodeChunk(chunk('IEND')));
  return Buffer.concat(parts);
}

function packPixel(row: Buffer, index: number, samples: ArrayLike<number>, bitDepth: number, channels: number): void {
  for (let c = 0; c < channels; c++) {
    const value = samples[c] ?? 0;
    const sample = index * channels + c;
    if (bitDepth === 16) row.writeUInt16BE(value, sample * 2);
    else if (bitDepth === 8) row[sample] = value;
    else {
      const bit = sample * bitDepth;
      row[bit >> 3]! |= value << (8 - bitDepth - (bit & 7));
    }
  }
}

function filterRow(raw: Buffer, previous: Buffer, type: number, bpp: number): Buffer {
  const out = Buffer.alloc(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const a = i >= bpp ? raw[i - bpp]! : 0;
    const b = previous[i]!;
    const c = i >= bpp ? previous[i - bpp]! : 0;
    let predictor = 0;
    if (type === 1) predictor = a;
    else if (type === 2) predictor = b;
    else if (type === 3) predictor = (a + b) >> 1;
    else if (type === 4) {
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
    out[i] = (raw[i]! - predictor) & 0xff;
  }
  return out;
}
