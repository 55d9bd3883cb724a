/**
 * One input frame after the first, from its PNG bytes to its Y'CbCr planes, as values: what the
 * tool then prints and writes for it. Decoding runs on the main thread or ahead of it in a
 * decoding thread (frameThread.ts), the same function either way; the main thread alone converts,
 * prints and writes, in frame order.
 *
 * @example
 * const decoded = decodeFrame(bytes, { width: 1024, height: 436 });
 * const outcome = decoded.kind === 'decoded' ? convertDecoded(decoded, '420', plan) : decoded;
 */
import { allocatePlanes, convertFrame, type Planes } from './bt709.js';
import { DecodeFailure, decodePng } from './decodePng.js';
import type { ChromaMode } from './options.js';

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

export type FrameOutcome = FrameFailure | (Warned & { kind: 'converted'; planes: Planes });

export function decodeFrame(bytes: Uint8Array, shape: FrameShape): DecodedFrame | FrameFailure {
  const warnings: string[] = [];
  try {
    const image = decodePng(bytes, (warning) => warnings.push(warning));
    if (image.width !== shape.width || image.height !== shape.height) {
      return { kind: 'mismatch', warnings, width: image.width, height: image.height };
    }
    return { kind: 'decoded', warnings, rgb: image.rgb };
  } catch (error) {
    if (error instanceof DecodeFailure) return { kind: 'failed', warnings, line: error.line };
    return { kind: 'crashed', warnings, message: error instanceof Error ? error.message : String(error) };
  }
}

/** `decoded` must have the first frame's shape (decodeFrame checked it). */
export function convertDecoded(decoded: DecodedFrame, shape: FrameShape, chroma: ChromaMode, plan: Int16Array | null): FrameOutcome {
  const planes = allocatePlanes(shape.width, shape.height, chroma);
  convertFrame(decoded.rgb, shape.width, shape.height, chroma, plan, planes);
  return { kind: 'converted', warnings: decoded.warnings, planes };
}
