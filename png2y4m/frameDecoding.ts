/**
 * One input frame after the first, decoded into a value: its pixels, or the failure the tool then
 * reports, with the libpng warnings printed on the way. The main thread decodes with it, or a
 * decoding thread ahead of it (frameThread.ts), the same function either way; the main thread
 * alone converts, prints and writes, in frame order.
 *
 * @example
 * const decoded = decodeFrame(bytes, { width: 1024, height: 436 });
 * if (decoded.kind === 'decoded') convertFrame(decoded.rgb, 1024, 436, '420', plan, planes);
 */
import { DecodeFailure, decodePng } from './decodePng.js';
import type { InflatedAhead } from './inflateAhead.js';

/** Size every frame must have: the first frame's. */
export interface FrameShape {
  width: number;
  height: number;
}

/** libpng warnings (without the `libpng warning: ` prefix) printed while decoding, in order. */
interface Warned {
  warnings: string[];
}

export type FrameFailure =
  /** Not a PNG the tool converts; `line` is its message (null: silent). */
  | (Warned & { kind: 'failed'; line: string | null })
  /** Decoded, but not the first frame's size. */
  | (Warned & { kind: 'mismatch'; width: number; height: number })
  /** An error the tool does not document (e.g. an image too large to allocate). */
  | (Warned & { kind: 'crashed'; message: string });

export type DecodedFrame = Warned & { kind: 'decoded'; rgb: Uint16Array };

/** `ahead`: its image data already inflated (inflateAhead.ts), if it was. */
export function decodeFrame(bytes: Uint8Array, shape: FrameShape, ahead?: InflatedAhead): DecodedFrame | FrameFailure {
  const warnings: string[] = [];
  try {
    const image = decodePng(bytes, (warning) => warnings.push(warning), ahead);
    if (image.width !== shape.width || image.height !== shape.height) {
      return { kind: 'mismatch', warnings, width: image.width, height: image.height };
    }
    return { kind: 'decoded', warnings, rgb: image.rgb };
  } catch (error) {
    if (error instanceof DecodeFailure) return { kind: 'failed', warnings, line: error.line };
    return { kind: 'crashed', warnings, message: error instanceof Error ? error.message : String(error) };
  }
}
