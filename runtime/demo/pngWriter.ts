/**
 * A minimal PNG encoder for truecolour images (8- or 16-bit RGB), used to synthesise the demo clip.
 * Rows use the Sub filter, which suits smooth video-like content and costs one pass.
 *
 * @example writeFileSync('f.png', encodePng({ width: 2, height: 1, bitDepth: 16, rgb: new Uint16Array(6) }))
 */
import { crc32, deflateSync } from 'node:zlib';

export interface RgbImage {
  width: number;
  height: number;
  bitDepth: 8 | 16;
  /** Row-major R,G,B samples: width*height*3 values (Uint8Array for 8-bit, Uint16Array for 16-bit). */
  rgb: Uint8Array | Uint16Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOUR_TYPE_RGB = 2;
const FILTER_SUB = 1;

export function encodePng(image: RgbImage, compressionLevel = 3): Buffer {
  const { width, height, bitDepth, rgb } = image;
  if (rgb.length !== width * height * 3) throw new RangeError(`expected ${width * height * 3} samples, got ${rgb.length}`);
  const bytesPerPixel = bitDepth === 16 ? 6 : 3;
  const stride = width * bytesPerPixel;
  const raw = Buffer.allocUnsafe(height * (stride + 1));
  const row = Buffer.allocUnsafe(stride);
  for (let y = 0; y < height; y++) {
    // Serialise the row big-endian, then apply the Sub filter byte-wise.
    const base = y * width * 3;
    if (bitDepth === 16) {
      for (let i = 0; i < width * 3; i++) row.writeUInt16BE(rgb[base + i]!, i * 2);
    } else {
      for (let i = 0; i < width * 3; i++) row[i] = rgb[base + i]!;
    }
    const out = y * (stride + 1);
    raw[out] = FILTER_SUB;
    for (let i = 0; i < stride; i++) {
      const left = i >= bytesPerPixel ? row[i - bytesPerPixel]! : 0;
      raw[out + 1 + i] = (row[i]! - left) & 0xff;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = bitDepth;
  header[9] = COLOUR_TYPE_RGB;
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: compressionLevel })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
