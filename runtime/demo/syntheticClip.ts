/**
 * A short synthetic clip for the demo: 16-bit RGB frames with smooth gradients, a drifting ring and
 * a moving bright disc, so consecutive frames differ like video does and chroma is exercised.
 *
 * @example const png = syntheticFrame(0, 1024, 436) // PNG bytes of frame 0
 */
import { encodePng } from './pngWriter.js';

export function syntheticFrame(index: number, width: number, height: number): Buffer {
  const rgb = new Uint16Array(width * height * 3);
  const t = index / 24;
  const discX = width * (0.2 + 0.6 * ((index * 0.037) % 1));
  const discY = height * (0.5 + 0.3 * Math.sin(t * 2 * Math.PI));
  const discR2 = (Math.min(width, height) * 0.12) ** 2;
  const cx = width / 2;
  const cy = height / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const dx = x - cx;
      const dy = y - cy;
      const ring = 0.5 + 0.5 * Math.sin(Math.sqrt(dx * dx + dy * dy) / 9 - t * 6);
      let r = (x / width) * 0.8 + 0.2 * ring;
      let g = (y / height) * 0.7 + 0.3 * (1 - ring);
      let b = 0.5 + 0.5 * Math.sin((x + y) / 40 + t * 3);
      const ddx = x - discX;
      const ddy = y - discY;
      if (ddx * ddx + ddy * ddy < discR2) {
        r = 1;
        g = 0.9;
        b = 0.2;
      }
      rgb[i] = Math.round(r * 65535);
      rgb[i + 1] = Math.round(g * 65535);
      rgb[i + 2] = Math.round(b * 65535);
    }
  }
  return encodePng({ width, height, bitDepth: 16, rgb });
}
