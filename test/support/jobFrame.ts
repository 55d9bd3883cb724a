/**
 * A frame shaped like the reference job's (../shared/png2y4m/corpus/seq16): 1024x436 16-bit RGB,
 * gradients plus noise in the low bits so it barely compresses (about 89%), filter types 0-4 in
 * turn. Made with the test PNG encoder; `seed` varies the content.
 *
 * @example writeFileSync('00000001.png', jobFrame(1));
 */
import { encodePng } from './pngEncoder.js';

export const JOB_FRAME_WIDTH = 1024;
export const JOB_FRAME_HEIGHT = 436;

export function jobFrame(seed: number, width = JOB_FRAME_WIDTH, height = JOB_FRAME_HEIGHT): Buffer {
  let state = seed * 2654435761;
  const noise = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 20;
  };
  const pixels: number[][] = new Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = (x * 64 + seed * 500 + noise()) % 65536;
      const g = (y * 150 + x * 20 + noise()) % 65536;
      const b = (32768 + Math.round(20000 * Math.sin((x + y + seed * 10) / 60)) + noise()) % 65536;
      pixels[y * width + x] = [r, g, b];
    }
  }
  return encodePng({ width, height, bitDepth: 16, colorType: 2, pixels, filter: (row) => row % 5 });
}
