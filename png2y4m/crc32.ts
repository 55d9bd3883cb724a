/**
 * CRC-32 (the PNG/zlib polynomial), continuing from a previous value. Uses node:zlib's native
 * crc32 where the runtime has it (Node >= 20.15) and a table-driven fallback otherwise.
 *
 * @example crc32(Buffer.from('IEND')) // 0xae426082
 */
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, previous?: number) => number;

const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

let table: Uint32Array | null = null;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

export function crc32Portable(data: Uint8Array, previous = 0): number {
  const t = crcTable();
  let c = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export const crc32: Crc32 = native ? (data, previous = 0) => native(data, previous) >>> 0 : crc32Portable;
