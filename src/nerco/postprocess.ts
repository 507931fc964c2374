/**
 * Host-side post-processing of the network output (NERCO.md §8): `fake_B` in [−1, 1] → 8-bit RGB.
 * Browser-safe: no Node APIs.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Size } from './preprocess.js';

/**
 * `'truncate'` is the reference (`tensor2im` casts to uint8, truncating toward zero);
 * `'nearest'` rounds `floor(v + 0.5)` instead, an opt-in deviation that is off by default.
 */
export type OutputRounding = 'truncate' | 'nearest';

/**
 * Byte value for one output sample `a`, exactly as NumPy computes `(a + 1) / 2 * 255` in float32
 * and then casts. `/2` is exact, so `f32(f32(a + 1) · 127.5)` is the same number; it is not the
 * same as `a · 127.5 + 127.5`. Each double operation followed by `Math.fround` is the correctly
 * rounded f32 operation (53 ≥ 2·24 + 2).
 */
function toByte(a: number, nearest: boolean): number {
  const v = Math.fround(Math.fround(a + 1) * 127.5);
  const u = nearest ? Math.floor(v + 0.5) : Math.trunc(v);
  // A tanh output cannot leave [0, 255] here, but a GPU kernel bug (or a non-reference head)
  // could produce values outside it or NaN; NumPy's cast would be undefined for those, so pin
  // them to something harmless instead of letting Uint8Array wrap modulo 256.
  if (!(u >= 0)) return 0; // also catches NaN
  return u > 255 ? 255 : u;
}

/**
 * Planar float32 [3, h, w] (R, G, B) in [−1, 1] → interleaved RGB bytes of the top-left `crop`
 * region (the whole image by default).
 */
export function fakeBToRGB8(
  chw: Float32Array, w: number, h: number, rounding: OutputRounding = 'truncate', crop?: Size,
): Uint8Array {
  if (chw.length !== 3 * w * h) {
    throw new InvalidArgumentError(`output tensor has ${chw.length} values, expected 3×${h}×${w}`);
  }
  const cw = crop?.w ?? w;
  const ch = crop?.h ?? h;
  if (!Number.isInteger(cw) || !Number.isInteger(ch) || cw < 1 || ch < 1 || cw > w || ch > h) {
    throw new InvalidArgumentError(`crop ${cw}×${ch} does not fit in the ${w}×${h} output`);
  }
  if (rounding !== 'truncate' && rounding !== 'nearest') {
    throw new InvalidArgumentError(`unknown rounding '${String(rounding)}'`);
  }
  const nearest = rounding === 'nearest';
  const plane = w * h;
  const out = new Uint8Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const s = y * w + x;
      const o = (y * cw + x) * 3;
      out[o] = toByte(chw[s], nearest);
      out[o + 1] = toByte(chw[plane + s], nearest);
      out[o + 2] = toByte(chw[2 * plane + s], nearest);
    }
  }
  return out;
}

/** Interleaved RGBA → interleaved RGB, dropping alpha without compositing (Pillow's convert). */
export function rgbaToRGB(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  if (rgba.length % 4 !== 0) {
    throw new InvalidArgumentError(`RGBA buffer length ${rgba.length} is not a multiple of 4`);
  }
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = rgba[4 * i];
    rgb[3 * i + 1] = rgba[4 * i + 1];
    rgb[3 * i + 2] = rgba[4 * i + 2];
  }
  return rgb;
}

/** Interleaved RGB → interleaved RGBA with opaque alpha (e.g. for a canvas `ImageData`). */
export function rgbToRGBA(rgb: Uint8Array): Uint8ClampedArray {
  if (rgb.length % 3 !== 0) {
    throw new InvalidArgumentError(`RGB buffer length ${rgb.length} is not a multiple of 3`);
  }
  const n = rgb.length / 3;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    rgba[4 * i] = rgb[3 * i];
    rgba[4 * i + 1] = rgb[3 * i + 1];
    rgba[4 * i + 2] = rgb[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}
