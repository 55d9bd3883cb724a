/**
 * Reverses PNG scanline filtering in place. `data` holds `rows` scanlines from `offset`, each a
 * filter-type byte followed by `rowBytes` bytes; `bpp` is bytes per complete pixel (at least 1).
 * A filter type above 4 is libpng's fatal `bad adaptive filter value`.
 *
 * @example unfilterRows(raw, 0, height, rowBytes, 6); // 16-bit RGB
 */
import { LibpngError } from './pngChunkReader.js';

/** |x| for a small int32, without a branch. */
function abs(x: number): number {
  const sign = x >> 31;
  return (x ^ sign) - sign;
}

export function unfilterRows(data: Uint8Array, offset: number, rows: number, rowBytes: number, bpp: number): void {
  const stride = rowBytes + 1;
  for (let r = 0; r < rows; r++) {
    const start = offset + r * stride;
    const filter = data[start]!;
    const cur = start + 1;
    const prev = r === 0 ? -1 : cur - stride;
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = cur + bpp, end = cur + rowBytes; i < end; i++) data[i] = (data[i]! + data[i - bpp]!) & 0xff;
        break;
      case 2:
        if (prev >= 0) for (let i = 0; i < rowBytes; i++) data[cur + i] = (data[cur + i]! + data[prev + i]!) & 0xff;
        break;
      case 3:
        if (prev < 0) {
          for (let i = bpp; i < rowBytes; i++) data[cur + i] = (data[cur + i]! + (data[cur + i - bpp]! >> 1)) & 0xff;
        } else {
          for (let i = 0; i < bpp; i++) data[cur + i] = (data[cur + i]! + (data[prev + i]! >> 1)) & 0xff;
          for (let i = bpp; i < rowBytes; i++) {
            data[cur + i] = (data[cur + i]! + ((data[cur + i - bpp]! + data[prev + i]!) >> 1)) & 0xff;
          }
        }
        break;
      case 4:
        if (prev < 0) {
          // With a zero row above, Paeth always predicts the left neighbour.
          for (let i = cur + bpp, end = cur + rowBytes; i < end; i++) data[i] = (data[i]! + data[i - bpp]!) & 0xff;
        } else {
          // One byte lane at a time, so the left (a) and upper-left (c) neighbours stay in registers.
          for (let lane = 0; lane < bpp && lane < rowBytes; lane++) {
            let a = (data[cur + lane]! + data[prev + lane]!) & 0xff;
            let c = data[prev + lane]!;
            data[cur + lane] = a;
            for (let i = lane + bpp; i < rowBytes; i += bpp) {
              const b = data[prev + i]!;
              const pa = abs(b - c);
              const pb = abs(a - c);
              const pc = abs(a + b - c - c);
              // The predictor picked with masks, not branches: on noisy images which neighbour
              // wins is close to random, and mispredicted branches cost more than the arithmetic.
              const notA = ((pb - pa) | (pc - pa)) >> 31; // -1 unless pa <= pb and pa <= pc
              const notB = (pc - pb) >> 31; // -1 unless pb <= pc
              a = (data[cur + i]! + ((a & ~notA) | (notA & ((b & ~notB) | (c & notB))))) & 0xff;
              data[cur + i] = a;
              c = b;
            }
          }
        }
        break;
      default:
        throw new LibpngError('bad adaptive filter value');
    }
  }
}
