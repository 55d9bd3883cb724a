/**
 * The libpng transformations the reference tool requests, applied to decoded samples: expand
 * (palette -> RGB, low-depth gray -> 8 bits, tRNS -> alpha), gray -> RGB, strip alpha, and - only
 * when the file has bKGD - compositing onto that background (linear, or through gamma tables when
 * the file gamma is significant), with libpng's quirks kept. 8-bit results are widened by x257.
 *
 * @example
 * const rgb = toRgb16(state, samples); // Uint16Array, 3 values per pixel
 */
import { correct16, correct8, gammaSetup, gammaShift, gammaTable16, gammaTable8 } from './gamma.js';
import { gammaSignificant } from './pngChunkHandlers.js';
import type { PngState } from './pngState.js';

/** libpng's png_composite (8-bit, "NODIV" rounding). */
export function composite8(f: number, a: number, b: number): number {
  const t = (f * a + b * (255 - a) + 128) & 0xffff;
  return ((t + (t >> 8)) >> 8) & 0xff;
}

/** libpng's png_composite_16. */
export function composite16(f: number, a: number, b: number): number {
  const t = (f * a + b * (65535 - a) + 32768) % 4294967296;
  return Math.floor((t + Math.floor(t / 65536)) / 65536) & 0xffff;
}

/**
 * `samples` holds width*height pixels of `state.channels` samples at the file's bit depth
 * (palette indices for colour type 3). A 16-bit RGB image without compositing is returned as is.
 */
export function toRgb16(state: PngState, samples: Uint16Array): Uint16Array {
  if (state.colorType === 3) return paletteToRgb16(state, samples);
  const pixels = state.width * state.height;
  const channels = state.channels;
  const gray = (state.colorType & 2) === 0;
  const hasAlpha = (state.colorType & 4) !== 0;
  const depth = state.bitDepth;
  const compose = state.bkgdValid && (hasAlpha || state.numTrans > 0);
  if (!compose && !gray && !hasAlpha && depth === 16) return samples;
  // Colour channels widened to 8 bits (or kept at 16): low-depth gray is scaled by 255 / 85 / 17.
  const scale = depth < 8 ? 255 / ((1 << depth) - 1) : 1;
  const out = new Uint16Array(pixels * 3);
  if (!compose) {
    const widen = depth === 16 ? 1 : 257;
    for (let p = 0, s = 0, o = 0; p < pixels; p++, s += channels, o += 3) {
      if (gray) {
        const v = samples[s]! * scale * widen;
        out[o] = out[o + 1] = out[o + 2] = v;
      } else {
        out[o] = samples[s]! * widen;
        out[o + 1] = samples[s + 1]! * widen;
        out[o + 2] = samples[s + 2]! * widen;
      }
    }
    return out;
  }

  const max = depth === 16 ? 65535 : 255;
  const colours = gray ? 1 : 3;
  const background = gray ? [state.bkgdGray] : [state.bkgdRed, state.bkgdGreen, state.bkgdBlue];
  // tRNS is compared at the file's depth, masked to it as png_do_expand does.
  const mask = depth === 16 ? 0xffff : (1 << depth) - 1;
  const transparent = gray ? [state.trnsGray & mask] : [state.trnsRed & mask, state.trnsGreen & mask, state.trnsBlue & mask];
  const useTrns = !hasAlpha && state.numTrans > 0;
  const g = gammaSetup(state.gamma);

  let channelValue: (c: number, alpha: number, channel: number) => number;
  if (!g.gammaMode) {
    const blend = depth === 16 ? composite16 : composite8;
    channelValue = (c, alpha, k) => (alpha === 0 ? background[k]! : alpha === max ? c : blend(c, alpha, background[k]!));
  } else if (depth === 16) {
    const sbit = state.sbitValid ? (gray ? state.sbitGray : Math.max(state.sbitRed, state.sbitGreen, state.sbitBlue)) : 0;
    const shift = gammaShift(sbit);
    const toScreen = gammaTable16(g.toScreen, shift);
    const to1 = gammaTable16(g.to1, shift);
    const from1 = gammaTable16(g.from1, shift);
    const linearBackground = background.map((b) => (gammaSignificant(g.screen) ? correct16(b, g.screen) : b));
    channelValue = (c, alpha, k) =>
      alpha === max ? toScreen[c]! : alpha === 0 ? background[k]! : from1[composite16(to1[c]!, alpha, linearBackground[k]!)]!;
  } else {
    const toScreen = gammaTable8(g.toScreen);
    const to1 = gammaTable8(g.to1);
    const from1 = gammaTable8(g.from1);
    // libpng linearises the background with the file's bit depth: 1/2/4-bit gray takes the 16-bit route.
    const linearBackground = background.map((b) =>
      !gammaSignificant(g.screen) ? b : depth === 8 ? correct8(b, g.screen) : correct16(b, g.screen),
    );
    channelValue = (c, alpha, k) =>
      alpha === max ? toScreen[c]! : alpha === 0 ? background[k]! : from1[composite8(to1[c]!, alpha, linearBackground[k]!)]!;
  }

  const widen = depth === 16 ? 1 : 257;
  for (let p = 0, s = 0, o = 0; p < pixels; p++, s += channels, o += 3) {
    let alpha = max;
    if (hasAlpha) alpha = samples[s + colours]!;
    else if (useTrns) {
      let same = true;
      for (let k = 0; k < colours; k++) if (samples[s + k] !== transparent[k]) same = false;
      if (same) alpha = 0;
    }
    if (gray) {
      const v = channelValue(samples[s]! * scale, alpha, 0) * widen;
      out[o] = out[o + 1] = out[o + 2] = v;
    } else {
      out[o] = channelValue(samples[s]!, alpha, 0) * widen;
      out[o + 1] = channelValue(samples[s + 1]!, alpha, 1) * widen;
      out[o + 2] = channelValue(samples[s + 2]!, alpha, 2) * widen;
    }
  }
  return out;
}

function paletteToRgb16(state: PngState, samples: Uint16Array): Uint16Array {
  const palette = Uint8Array.from(state.palette);
  if (state.bkgdValid && state.numTrans > 0) {
    const g = gammaSetup(state.gamma);
    const background = [state.bkgdRed, state.bkgdGreen, state.bkgdBlue];
    if (!g.gammaMode) {
      for (let i = 0; i < state.numTrans; i++) {
        const alpha = state.trnsAlpha[i]!;
        if (alpha === 255) continue;
        for (let k = 0; k < 3; k++) {
          palette[i * 3 + k] = alpha === 0 ? background[k]! : composite8(palette[i * 3 + k]!, alpha, background[k]!);
        }
      }
    } else {
      const toScreen = gammaTable8(g.toScreen);
      const to1 = gammaTable8(g.to1);
      const from1 = gammaTable8(g.from1);
      for (let i = 0; i < state.numPalette; i++) {
        const alpha = i < state.numTrans ? state.trnsAlpha[i]! : 255;
        for (let k = 0; k < 3; k++) {
          const c = palette[i * 3 + k]!;
          const b = background[k]!;
          palette[i * 3 + k] =
            alpha === 255 ? toScreen[c]! : alpha === 0 ? toScreen[b]! : from1[composite8(to1[c]!, alpha, to1[b]!)]!;
        }
      }
    }
  }
  const pixels = state.width * state.height;
  const out = new Uint16Array(pixels * 3);
  for (let p = 0, o = 0; p < pixels; p++, o += 3) {
    const at = samples[p]! * 3;
    out[o] = palette[at]! * 257;
    out[o + 1] = palette[at + 1]! * 257;
    out[o + 2] = palette[at + 2]! * 257;
  }
  return out;
}
