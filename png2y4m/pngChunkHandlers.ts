/**
 * libpng 1.6's handling of every chunk other than IDAT, as png_read_info and png_read_end dispatch
 * them: placement rules, length checks, CRC policy, and which problems are fatal (thrown
 * LibpngError) versus benign (a warning, the chunk ignored). Only the chunks that can change pixels
 * (IHDR, PLTE, tRNS, bKGD, gAMA, sRGB, iCCP, sBIT) are interpreted; the rest are checked and skipped.
 *
 * @example
 * const length = reader.readHeader();
 * checkChunkLength(state, reader, length);
 * if (reader.name !== CHUNK.IDAT) handleChunk(state, reader, length);
 */
import { inflateSync } from 'node:zlib';
import { CHUNK, ChunkReader, LibpngError, isAncillary, readUint32 } from './pngChunkReader.js';
import { COLORSPACE, GAMMA_sRGB_INVERSE, MODE, type PngState } from './pngState.js';

const UINT31_MAX = 0x7fffffff;
/** libpng's default user limits (png_set_user_limits / png_set_chunk_malloc_max). */
export const USER_WIDTH_MAX = 1000000;
export const USER_HEIGHT_MAX = 1000000;
const USER_CHUNK_MALLOC_MAX = 8000000;

/** png_check_chunk_length: IDAT may be as large as the image needs, other chunks 8 MB. */
export function checkChunkLength(state: PngState, reader: ChunkReader, length: number): void {
  let limit = USER_CHUNK_MALLOC_MAX;
  if (reader.name === CHUNK.IDAT) {
    let rowFactor = state.width * state.channels * (state.bitDepth > 8 ? 2 : 1) + 1 + (state.interlace ? 6 : 0);
    let idatLimit = state.height > Math.floor(0xffffffff / rowFactor) ? UINT31_MAX : state.height * rowFactor;
    rowFactor = Math.min(rowFactor, 32566);
    idatLimit += 6 + 5 * (Math.floor(idatLimit / rowFactor) + 1);
    idatLimit = Math.min(idatLimit, UINT31_MAX);
    limit = Math.max(limit, idatLimit);
  }
  if (length > limit) throw reader.chunkError('chunk data is too large');
}

/** Handle one non-IDAT chunk whose header was just read. */
export function handleChunk(state: PngState, reader: ChunkReader, length: number): void {
  switch (reader.name) {
    case CHUNK.IHDR:
      return handleIHDR(state, reader, length);
    case CHUNK.IEND:
      return handleIEND(state, reader, length);
    case CHUNK.PLTE:
      return handlePLTE(state, reader, length);
    case CHUNK.tRNS:
      return handleTRNS(state, reader, length);
    case CHUNK.bKGD:
      return handleBKGD(state, reader, length);
    case CHUNK.gAMA:
      return handleGAMA(state, reader, length);
    case CHUNK.sRGB:
      return handleSRGB(state, reader, length);
    case CHUNK.iCCP:
      return handleICCP(state, reader, length);
    case CHUNK.sBIT:
      return handleSBIT(state, reader, length);
    case CHUNK.cHRM:
      return handleBeforePlte(state, reader, length, 32);
    case CHUNK.eXIf:
    case CHUNK.hIST:
    case CHUNK.oFFs:
    case CHUNK.pCAL:
    case CHUNK.pHYs:
    case CHUNK.sCAL:
    case CHUNK.sPLT:
    case CHUNK.tEXt:
    case CHUNK.tIME:
    case CHUNK.zTXt:
    case CHUNK.iTXt:
      requireIHDR(state, reader);
      reader.finish(length);
      return;
    default:
      reader.finish(length);
      if (!isAncillary(reader.name)) throw reader.chunkError('unhandled critical chunk');
  }
}

function requireIHDR(state: PngState, reader: ChunkReader): void {
  if (!(state.mode & MODE.HAVE_IHDR)) throw reader.chunkError('missing IHDR');
}

/** Common prologue of the chunks that must come before PLTE and IDAT; false = skipped. */
function beforePlte(state: PngState, reader: ChunkReader, length: number): boolean {
  requireIHDR(state, reader);
  if (state.mode & (MODE.HAVE_IDAT | MODE.HAVE_PLTE)) {
    reader.finish(length);
    reader.chunkWarning('out of place');
    return false;
  }
  return true;
}

function skipInvalid(reader: ChunkReader, length: number, message = 'invalid'): void {
  reader.finish(length);
  reader.chunkWarning(message);
}

function handleBeforePlte(state: PngState, reader: ChunkReader, length: number, expected: number): void {
  if (!beforePlte(state, reader, length)) return;
  if (length !== expected) return skipInvalid(reader, length);
  reader.finish(length);
}

function handleIHDR(state: PngState, reader: ChunkReader, length: number): void {
  if (state.mode & MODE.HAVE_IHDR) throw reader.chunkError('out of place');
  if (length !== 13) throw reader.chunkError('invalid');
  state.mode |= MODE.HAVE_IHDR;
  const data = reader.read(13);
  reader.finish(0);
  const width = readUint32(data, 0);
  const height = readUint32(data, 4);
  if (width > UINT31_MAX || height > UINT31_MAX) throw new LibpngError('PNG unsigned integer out of range');
  const [bitDepth, colorType, compression, filter, interlace] = [data[8]!, data[9]!, data[10]!, data[11]!, data[12]!];
  Object.assign(state, { width, height, bitDepth, colorType, interlace });
  state.channels = colorType === 2 ? 3 : colorType === 4 ? 2 : colorType === 6 ? 4 : 1;
  const problems: string[] = [];
  if (width === 0) problems.push('Image width is zero in IHDR');
  if (width > USER_WIDTH_MAX) problems.push('Image width exceeds user limit in IHDR');
  if (height === 0) problems.push('Image height is zero in IHDR');
  if (height > USER_HEIGHT_MAX) problems.push('Image height exceeds user limit in IHDR');
  if (![1, 2, 4, 8, 16].includes(bitDepth)) problems.push('Invalid bit depth in IHDR');
  if (colorType === 1 || colorType === 5 || colorType > 6) problems.push('Invalid color type in IHDR');
  if ((colorType === 3 && bitDepth > 8) || ((colorType === 2 || colorType === 4 || colorType === 6) && bitDepth < 8)) {
    problems.push('Invalid color type/bit depth combination in IHDR');
  }
  if (interlace >= 2) problems.push('Unknown interlace method in IHDR');
  if (compression !== 0) problems.push('Unknown compression method in IHDR');
  if (filter !== 0) problems.push('Unknown filter method in IHDR');
  for (const problem of problems) reader.warn(problem);
  if (problems.length > 0) throw new LibpngError('Invalid IHDR data');
}

function handleIEND(state: PngState, reader: ChunkReader, length: number): void {
  if (!(state.mode & MODE.HAVE_IHDR) || !(state.mode & MODE.HAVE_IDAT)) throw reader.chunkError('out of place');
  state.mode |= MODE.AFTER_IDAT | MODE.HAVE_IEND;
  reader.finish(length);
  if (length !== 0) reader.chunkWarning('invalid');
}

function handlePLTE(state: PngState, reader: ChunkReader, length: number): void {
  requireIHDR(state, reader);
  if (state.mode & MODE.HAVE_PLTE) throw reader.chunkError('duplicate');
  if (state.mode & MODE.HAVE_IDAT) return skipInvalid(reader, length, 'out of place');
  state.mode |= MODE.HAVE_PLTE;
  if (!(state.colorType & 2)) return skipInvalid(reader, length, 'ignored in grayscale PNG');
  if (length > 768 || length % 3 !== 0) {
    reader.finish(length);
    if (state.colorType !== 3) return reader.chunkWarning('invalid');
    throw reader.chunkError('invalid');
  }
  const maxEntries = state.colorType === 3 ? 1 << state.bitDepth : 256;
  const count = Math.min(length / 3, maxEntries);
  const entries = reader.read(count * 3);
  reader.finish(length - count * 3);
  if (count === 0) throw new LibpngError('Invalid palette');
  state.palette.fill(0);
  state.palette.set(entries);
  state.numPalette = count;
  if (state.numTrans > 0 || state.trnsValid) {
    // libpng cancels an earlier tRNS (keeping it "valid" for duplicate detection).
    state.numTrans = 0;
    reader.chunkWarning('tRNS must be after');
  }
}

function handleTRNS(state: PngState, reader: ChunkReader, length: number): void {
  requireIHDR(state, reader);
  if (state.mode & MODE.HAVE_IDAT) return skipInvalid(reader, length, 'out of place');
  if (state.trnsValid) return skipInvalid(reader, length, 'duplicate');
  let numTrans: number;
  let data: Uint8Array;
  if (state.colorType === 0) {
    if (length !== 2) return skipInvalid(reader, length);
    data = reader.read(2);
    numTrans = 1;
  } else if (state.colorType === 2) {
    if (length !== 6) return skipInvalid(reader, length);
    data = reader.read(6);
    numTrans = 1;
  } else if (state.colorType === 3) {
    if (!(state.mode & MODE.HAVE_PLTE)) return skipInvalid(reader, length, 'out of place');
    if (length > state.numPalette || length === 0) return skipInvalid(reader, length);
    data = reader.read(length);
    numTrans = length;
  } else {
    return skipInvalid(reader, length, 'invalid with alpha channel');
  }
  if (reader.finish(0)) return;
  state.trnsValid = true;
  state.numTrans = numTrans;
  if (state.colorType === 3) {
    state.trnsAlpha.fill(255);
    state.trnsAlpha.set(data);
    return;
  }
  const sampleMax = state.bitDepth < 16 ? (1 << state.bitDepth) - 1 : 0xffff;
  if (state.colorType === 0) {
    state.trnsGray = (data[0]! << 8) | data[1]!;
    if (state.trnsGray > sampleMax) reader.warn('tRNS chunk has out-of-range samples for bit_depth');
  } else {
    state.trnsRed = (data[0]! << 8) | data[1]!;
    state.trnsGreen = (data[2]! << 8) | data[3]!;
    state.trnsBlue = (data[4]! << 8) | data[5]!;
    if (state.trnsRed > sampleMax || state.trnsGreen > sampleMax || state.trnsBlue > sampleMax) {
      reader.warn('tRNS chunk has out-of-range samples for bit_depth');
    }
  }
}

function handleBKGD(state: PngState, reader: ChunkReader, length: number): void {
  requireIHDR(state, reader);
  if (state.mode & MODE.HAVE_IDAT || (state.colorType === 3 && !(state.mode & MODE.HAVE_PLTE))) {
    return skipInvalid(reader, length, 'out of place');
  }
  if (state.bkgdValid) return skipInvalid(reader, length, 'duplicate');
  const expected = state.colorType === 3 ? 1 : state.colorType & 2 ? 6 : 2;
  if (length !== expected) return skipInvalid(reader, length);
  const data = reader.read(expected);
  if (reader.finish(0)) return;
  if (state.colorType === 3) {
    const index = data[0]!;
    if (index >= state.numPalette) return reader.chunkWarning('invalid index');
    state.bkgdIndex = index;
    state.bkgdRed = state.palette[index * 3]!;
    state.bkgdGreen = state.palette[index * 3 + 1]!;
    state.bkgdBlue = state.palette[index * 3 + 2]!;
    state.bkgdGray = 0;
  } else if (!(state.colorType & 2)) {
    if (state.bitDepth <= 8 && (data[0] !== 0 || data[1]! >= 1 << state.bitDepth)) {
      return reader.chunkWarning('invalid gray level');
    }
    const gray = (data[0]! << 8) | data[1]!;
    state.bkgdIndex = 0;
    state.bkgdRed = state.bkgdGreen = state.bkgdBlue = state.bkgdGray = gray;
  } else {
    if (state.bitDepth <= 8 && (data[0] !== 0 || data[2] !== 0 || data[4] !== 0)) {
      return reader.chunkWarning('invalid color');
    }
    state.bkgdIndex = 0;
    state.bkgdRed = (data[0]! << 8) | data[1]!;
    state.bkgdGreen = (data[2]! << 8) | data[3]!;
    state.bkgdBlue = (data[4]! << 8) | data[5]!;
    state.bkgdGray = 0;
  }
  state.bkgdValid = true;
}

function handleSBIT(state: PngState, reader: ChunkReader, length: number): void {
  if (!beforePlte(state, reader, length)) return;
  if (state.sbitValid) return skipInvalid(reader, length, 'duplicate');
  const [expected, sampleDepth] = state.colorType === 3 ? [3, 8] : [state.channels, state.bitDepth];
  if (length !== expected || length > 4) return skipInvalid(reader, length);
  const data = reader.read(expected);
  if (reader.finish(0)) return;
  for (const bits of data) if (bits === 0 || bits > sampleDepth) return reader.chunkWarning('invalid');
  if (state.colorType & 2) {
    [state.sbitRed, state.sbitGreen, state.sbitBlue] = [data[0]!, data[1]!, data[2]!];
  } else {
    state.sbitGray = state.sbitRed = state.sbitGreen = state.sbitBlue = data[0]!;
  }
  state.sbitValid = true;
}

function handleGAMA(state: PngState, reader: ChunkReader, length: number): void {
  if (!beforePlte(state, reader, length)) return;
  if (length !== 4) return skipInvalid(reader, length);
  const data = reader.read(4);
  if (reader.finish(0)) return;
  const raw = readUint32(data, 0);
  // png_get_fixed_point without a png_ptr turns out-of-range values into -1.
  const gamma = raw > UINT31_MAX ? -1 : raw;
  let problem: string;
  if (gamma < 16 || gamma > 625000000) problem = 'gamma value out of range';
  else if (state.colorspaceFlags & COLORSPACE.FROM_gAMA) problem = 'duplicate';
  else if (state.colorspaceFlags & COLORSPACE.INVALID) return;
  else {
    if (gammaAgrees(state, reader, gamma, 'gAMA')) {
      state.gamma = gamma;
      state.colorspaceFlags |= COLORSPACE.HAVE_GAMMA | COLORSPACE.FROM_gAMA;
    }
    return;
  }
  state.colorspaceFlags |= COLORSPACE.INVALID;
  reader.chunkWarning(problem);
}

/** png_colorspace_check_gamma: may the new value replace the current one? */
function gammaAgrees(state: PngState, reader: ChunkReader, gamma: number, from: 'gAMA' | 'sRGB'): boolean {
  if (!(state.colorspaceFlags & COLORSPACE.HAVE_GAMMA)) return true;
  const ratio = Math.floor((state.gamma * 100000) / gamma + 0.5);
  if (ratio > UINT31_MAX || gammaSignificant(ratio)) {
    if (state.colorspaceFlags & COLORSPACE.FROM_sRGB || from === 'sRGB') {
      reader.chunkWarning('gamma value does not match sRGB');
      return from === 'sRGB';
    }
    reader.chunkWarning('gamma value does not match libpng estimate');
    return from === 'gAMA';
  }
  return true;
}

/** libpng's threshold for "this gamma is not 1.0": more than 5% away. */
export function gammaSignificant(gamma: number): boolean {
  return gamma < 95000 || gamma > 105000;
}

function handleSRGB(state: PngState, reader: ChunkReader, length: number): void {
  if (!beforePlte(state, reader, length)) return;
  if (length !== 1) return skipInvalid(reader, length);
  const intent = reader.read(1)[0]!;
  if (reader.finish(0)) return;
  if (state.colorspaceFlags & COLORSPACE.INVALID) return;
  if (state.colorspaceFlags & COLORSPACE.HAVE_INTENT) {
    state.colorspaceFlags |= COLORSPACE.INVALID;
    return reader.chunkWarning('too many profiles');
  }
  setSRGB(state, reader, intent);
}

function setSRGB(state: PngState, reader: ChunkReader, intent: number): void {
  if (intent >= 4) {
    state.colorspaceFlags |= COLORSPACE.INVALID;
    return reader.chunkWarning(`profile 'sRGB': ${intent.toString(16)}h: invalid sRGB rendering intent`);
  }
  if (state.colorspaceFlags & COLORSPACE.FROM_sRGB) return reader.warn('duplicate sRGB information ignored');
  gammaAgrees(state, reader, GAMMA_sRGB_INVERSE, 'sRGB');
  state.intent = intent;
  state.gamma = GAMMA_sRGB_INVERSE;
  state.colorspaceFlags |= COLORSPACE.HAVE_INTENT | COLORSPACE.HAVE_GAMMA | COLORSPACE.FROM_sRGB;
}

/**
 * iCCP: checked for placement, keyword, compression and the profile's own length field. A valid
 * profile claims the rendering intent (so a later sRGB is "too many profiles"); an invalid one
 * invalidates the colourspace. libpng also recognises a handful of published sRGB profiles by
 * checksum and then acts as for sRGB; that table is not reproduced here (see README).
 */
function handleICCP(state: PngState, reader: ChunkReader, length: number): void {
  if (!beforePlte(state, reader, length)) return;
  if (length < 14) return skipInvalid(reader, length, 'too short');
  if (state.colorspaceFlags & COLORSPACE.INVALID) {
    reader.finish(length);
    return;
  }
  if (state.colorspaceFlags & COLORSPACE.HAVE_INTENT) {
    reader.finish(length);
    state.colorspaceFlags |= COLORSPACE.INVALID;
    return reader.chunkWarning('too many profiles');
  }
  const data = reader.read(length);
  if (reader.finish(0)) return;
  const problem = iccProblem(data);
  if (problem !== null) {
    state.colorspaceFlags |= COLORSPACE.INVALID;
    return reader.chunkWarning(problem);
  }
  state.intent = readUint32(inflateSync(data.subarray(data.indexOf(0) + 2)), 64);
  state.colorspaceFlags |= COLORSPACE.HAVE_INTENT;
}

function iccProblem(data: Uint8Array): string | null {
  const nul = data.indexOf(0);
  if (nul < 1 || nul > 79) return 'bad keyword';
  if (data[nul + 1] !== 0) return 'bad compression method';
  let profile: Buffer;
  try {
    profile = inflateSync(data.subarray(nul + 2));
  } catch (error) {
    return error instanceof Error ? error.message : 'damaged LZ stream';
  }
  if (profile.length < 132) return 'too short';
  if (readUint32(profile, 0) !== profile.length) return 'length does not match profile';
  if (readUint32(profile, 64) >= 0xffff) return 'invalid rendering intent';
  return null;
}
