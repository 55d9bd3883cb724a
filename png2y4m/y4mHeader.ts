/**
 * The YUV4MPEG2 stream header line the reference tool writes (numbers in plain decimal, negative
 * values with a minus sign, as the C `%i` formats them).
 *
 * @example
 * y4mHeader({ width: 1024, height: 436, framerateNumerator: 24, framerateDenominator: 1,
 *             aspectNumerator: 0, aspectDenominator: 0, chroma: '420' })
 * // 'YUV4MPEG2 W1024 H436 F24:1 Ip A0:0 C420jpeg\n'
 */
import type { ChromaMode } from './options.js';

export interface Y4mStream {
  width: number;
  height: number;
  framerateNumerator: number;
  framerateDenominator: number;
  aspectNumerator: number;
  aspectDenominator: number;
  chroma: ChromaMode;
}

const CHROMA_TAG: Record<ChromaMode, string> = { '420': ' C420jpeg', '422': ' C422jpeg', '444': ' C444' };

export function y4mHeader(stream: Y4mStream): string {
  return (
    `YUV4MPEG2 W${stream.width} H${stream.height} F${stream.framerateNumerator}:${stream.framerateDenominator}` +
    ` Ip A${stream.aspectNumerator}:${stream.aspectDenominator}${CHROMA_TAG[stream.chroma]}\n`
  );
}
