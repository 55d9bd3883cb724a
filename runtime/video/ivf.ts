/**
 * IVF, the container vpxenc and xc-enc write: a 32-byte file header (`DKIF`, version 0, codec
 * FourCC, size, time base, frame count), then per frame a 12-byte header (size, 64-bit timestamp)
 * and the frame. ExCamera's chunks are joined here into one stream; pure functions over Buffers.
 */

const FILE_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 12;

/** A file that is not IVF, is cut short, or does not match the others. */
export class IvfError extends Error {
  override readonly name = 'IvfError';
}

export interface IvfHeader {
  /** Codec, e.g. `VP80`. */
  fourcc: string;
  width: number;
  height: number;
  /** Time base: a timestamp t is t * scale / rate seconds. xc-enc writes 1/1 and timestamps 0. */
  rate: number;
  scale: number;
}

export interface IvfFile {
  header: IvfHeader;
  /** Frame payloads (views into the parsed buffer), in file order. */
  frames: Buffer[];
}

/**
 * Read an IVF file. The header's frame count is not trusted (a stream written to a pipe leaves it
 * 0): the frames are counted. Throws {@link IvfError} naming `name` and what is wrong.
 *
 * @example parseIvf(readFileSync('out.ivf'), 'out.ivf').frames.length // 6
 */
export function parseIvf(bytes: Buffer, name: string): IvfFile {
  if (bytes.byteLength < FILE_HEADER_BYTES || bytes.toString('latin1', 0, 4) !== 'DKIF') {
    throw new IvfError(`${name} is not an IVF file (no DKIF header)`);
  }
  const version = bytes.readUInt16LE(4);
  const headerBytes = bytes.readUInt16LE(6);
  if (version !== 0 || headerBytes !== FILE_HEADER_BYTES) {
    throw new IvfError(`${name}: unsupported IVF version ${version} with a ${headerBytes}-byte header (expected version 0, 32 bytes)`);
  }
  const header: IvfHeader = {
    fourcc: bytes.toString('latin1', 8, 12),
    width: bytes.readUInt16LE(12),
    height: bytes.readUInt16LE(14),
    rate: bytes.readUInt32LE(16),
    scale: bytes.readUInt32LE(20),
  };
  const frames: Buffer[] = [];
  let offset = FILE_HEADER_BYTES;
  while (offset < bytes.byteLength) {
    if (offset + FRAME_HEADER_BYTES > bytes.byteLength) {
      throw new IvfError(`${name} is cut short: frame ${frames.length} has ${bytes.byteLength - offset} of its 12 header bytes`);
    }
    const size = bytes.readUInt32LE(offset);
    const start = offset + FRAME_HEADER_BYTES;
    if (start + size > bytes.byteLength) {
      throw new IvfError(`${name} is cut short: frame ${frames.length} needs ${size} bytes, ${bytes.byteLength - start} are left`);
    }
    frames.push(bytes.subarray(start, start + size));
    offset = start + size;
  }
  return { header, frames };
}

/**
 * One IVF of every frame of `inputs`, in order: the first input's header with the total frame
 * count, and timestamps renumbered 0, 1, 2, ... in its time base. Inputs must agree on codec and
 * size; their time bases may differ (xc-enc writes 1/1), the first one's is kept.
 *
 * @example writeFileSync('video.ivf', joinIvf(['0.ivf', '1.ivf'].map((f) => ({ name: f, bytes: readFileSync(f) }))))
 */
export function joinIvf(inputs: ReadonlyArray<{ name: string; bytes: Buffer }>): Buffer {
  if (inputs.length === 0) throw new IvfError('nothing to join: no input files');
  const files = inputs.map(({ name, bytes }) => ({ name, ...parseIvf(bytes, name) }));
  const first = files[0]!;
  for (const file of files.slice(1)) {
    const a = first.header;
    const b = file.header;
    if (a.fourcc !== b.fourcc || a.width !== b.width || a.height !== b.height) {
      throw new IvfError(`${file.name} does not match ${first.name}: ${describe(b)} against ${describe(a)}`);
    }
  }
  const frames = files.flatMap((file) => file.frames);
  return writeIvf(first.header, frames);
}

/** An IVF file of `frames`, timestamps 0, 1, 2, .... */
export function writeIvf(header: IvfHeader, frames: readonly Buffer[]): Buffer {
  const total = FILE_HEADER_BYTES + frames.reduce((sum, frame) => sum + FRAME_HEADER_BYTES + frame.byteLength, 0);
  const out = Buffer.alloc(total);
  out.write('DKIF', 0, 'latin1');
  out.writeUInt16LE(0, 4);
  out.writeUInt16LE(FILE_HEADER_BYTES, 6);
  out.write(header.fourcc.padEnd(4, ' ').slice(0, 4), 8, 'latin1');
  out.writeUInt16LE(header.width, 12);
  out.writeUInt16LE(header.height, 14);
  out.writeUInt32LE(header.rate, 16);
  out.writeUInt32LE(header.scale, 20);
  out.writeUInt32LE(frames.length, 24);
  let offset = FILE_HEADER_BYTES;
  frames.forEach((frame, index) => {
    out.writeUInt32LE(frame.byteLength, offset);
    out.writeBigUInt64LE(BigInt(index), offset + 4);
    frame.copy(out, offset + FRAME_HEADER_BYTES);
    offset += FRAME_HEADER_BYTES + frame.byteLength;
  });
  return out;
}

function describe(header: IvfHeader): string {
  return `${JSON.stringify(header.fourcc)} ${header.width}x${header.height}`;
}

/**
 * Indexes of the VP8 key frames among `frames` (bit 0 of a VP8 frame tag is 0 for a key frame).
 *
 * @example vp8KeyFrames(parseIvf(bytes, 'joined.ivf').frames) // [0, 18]: two groups of 18 frames
 */
export function vp8KeyFrames(frames: readonly Buffer[]): number[] {
  return frames.flatMap((frame, i) => (frame.byteLength > 0 && (frame[0]! & 1) === 0 ? [i] : []));
}
