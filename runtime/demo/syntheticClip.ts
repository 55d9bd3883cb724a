/**
 * A short synthetic clip for the demo: 16-bit RGB frames with smooth gradients, a drifting ring and
 * a moving bright disc, so consecutive frames differ like video does and chroma is exercised.
 * Only the phases change from frame to frame, so what depends on the pixel's place alone (the
 * ring's sine and cosine of the distance to the centre) is computed once per frame size.
 *
 * @example const png = syntheticFrame(0, 1024, 436) // PNG bytes of frame 0
 */
import { encodePng } from './pngWriter.js';

/** sin and cos of (distance to the centre) / 9 for every pixel of one frame size. */
interface RingBasis {
  key: string;
  sin: Float64Array;
  cos: Float64Array;
}

let basis: RingBasis | undefined;

function ringBasis(width: number, height: number): RingBasis {
  const key = `${width}x${height}`;
  if (basis?.key === key) return basis;
  const sin = new Float64Array(width * height);
  const cos = new Float64Array(width * height);
  const cx = width / 2;
  const cy = height / 2;
  for (let y = 0, p = 0; y < height; y++) {
    const dy = y - cy;
    for (let x = 0; x < width; x++, p++) {
      const dx = x - cx;
      const d = Math.sqrt(dx * dx + dy * dy) / 9;
      sin[p] = Math.sin(d);
      cos[p] = Math.cos(d);
    }
  }
  basis = { key, sin, cos };
  return basis;
}

export function syntheticFrame(index: number, width: number, height: number): Buffer {
  const rgb = new Uint16Array(width * height * 3);
  const t = index / 24;
  const discX = width * (0.2 + 0.6 * ((index * 0.037) % 1));
  const discY = height * (0.5 + 0.3 * Math.sin(t * 2 * Math.PI));
  const discR2 = (Math.min(width, height) * 0.12) ** 2;
  // ring = 0.5 + 0.5 sin(d - 6t), expanded as sin(d)cos(6t) - cos(d)sin(6t).
  const { sin, cos } = ringBasis(width, height);
  const cosPhase = 0.5 * Math.cos(t * 6);
  const sinPhase = 0.5 * Math.sin(t * 6);
  // Blue depends on x + y only.
  const blue = new Float64Array(width + height);
  for (let s = 0; s < blue.length; s++) blue[s] = 0.5 + 0.5 * Math.sin(s / 40 + t * 3);
  for (let y = 0, p = 0; y < height; y++) {
    const gy = (y / height) * 0.7;
    const ddy2 = (y - discY) * (y - discY);
    for (let x = 0; x < width; x++, p++) {
      const i = p * 3;
      const ddx = x - discX;
      if (ddx * ddx + ddy2 < discR2) {
        rgb[i] = 65535;
        rgb[i + 1] = 58982; // round(0.9 * 65535)
        rgb[i + 2] = 13107; // round(0.2 * 65535)
        continue;
      }
      const ring = 0.5 + sin[p]! * cosPhase - cos[p]! * sinPhase;
      rgb[i] = Math.round(((x / width) * 0.8 + 0.2 * ring) * 65535);
      rgb[i + 1] = Math.round((gy + 0.3 * (1 - ring)) * 65535);
      rgb[i + 2] = Math.round(blue[x + y]! * 65535);
    }
  }
  return encodePng({ width, height, bitDepth: 16, rgb });
}
