/**
 * Host-side pre-processing, bit-exact with the reference chain of NERCO.md §3:
 * `convert('RGB')` (done by the decoder) → `__make_power_2(img, 4, BICUBIC)` → ToTensor → Normalize.
 * Also the non-reference `--fit pad` path (reflect-pad to the network's size constraints).
 * Browser-safe: no Node APIs.
 */
import { InvalidArgumentError } from '../errors.js';
import type { RGBImage } from './rgb-image.js';

/** Smallest network input on each axis (NERCO.md §7.9: the 1/4-resolution ResBlocks need ≥ 2). */
export const MIN_NETWORK_SIDE = 8;

/** The network's spatial sizes must be multiples of this (two stride-2 convs and their inverses). */
export const NETWORK_SIZE_MULTIPLE = 4;

/**
 * ToTensor + Normalize((0.5,)*3, (0.5,)*3) as a table over the 256 byte values (NERCO.md §3.3).
 * torch divides by 255 (correctly rounded f32 division), subtracts 0.5 and divides by 0.5; the
 * division by 0.5 is an exact doubling. Computing each step in double and rounding to f32 gives the
 * correctly rounded f32 result because 53 ≥ 2·24 + 2. Multiplying by f32(1/255) instead would be
 * wrong in 111 entries, and WGSL `/` is not correctly rounded, hence a host-built table.
 */
export const INPUT_LUT: Float32Array = (() => {
  const lut = new Float32Array(256);
  for (let u = 0; u < 256; u++) {
    const t = Math.fround(u / 255);
    lut[u] = Math.fround(Math.fround(t - 0.5) * 2);
  }
  return lut;
})();

/** Python 3's `round()` for a float: nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface Size { w: number; h: number }

/**
 * The size `__make_power_2(base=4)` resizes to: `4 * round(n / 4)` per axis, round half to even
 * (so 50 → 48, 62 → 64, 6 and 7 → 8, 1 and 2 → 0). The result may be smaller than the network
 * accepts; `prepareInput` checks that.
 */
export function networkSizeResize(w: number, h: number): Size {
  const m = NETWORK_SIZE_MULTIPLE;
  return { w: m * roundHalfEven(w / m), h: m * roundHalfEven(h / m) };
}

/** The size `--fit pad` pads to: the next multiple of 4 on each axis, and at least 8. */
export function networkSizePad(w: number, h: number): Size {
  const up = (n: number): number =>
    Math.max(MIN_NETWORK_SIDE, Math.ceil(n / NETWORK_SIZE_MULTIPLE) * NETWORK_SIZE_MULTIPLE);
  return { w: up(w), h: up(h) };
}

// ---------------------------------------------------------------------------------------------
// Pillow 9.4 8-bit BICUBIC resampling (libImaging/Resample.c), NERCO.md §3.2.

/** Pillow's fixed-point precision for 8-bit resampling: 32 − 8 − 2 bits of fraction. */
const PRECISION_BITS = 22;
const FIXED_ONE = 1 << PRECISION_BITS;
const FIXED_HALF = 1 << (PRECISION_BITS - 1);

/** Keys' cubic with a = −0.5, evaluated in the same operation order as Pillow's C code. */
function bicubicKernel(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  // `((a+2)t − (a+3)) · t · t + 1`, left-associative as in C: (p·t)·t, not p·(t·t).
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** Per output index: first source index, tap count, and `ksize` int32 fixed-point taps. */
interface AxisCoefficients {
  first: Int32Array;
  count: Int32Array;
  ksize: number;
  taps: Int32Array;
}

function bicubicCoefficients(inSize: number, outSize: number): AxisCoefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  // Bicubic support is 2; widened when downscaling so that every source pixel contributes.
  const support = 2 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const taps = new Int32Array(outSize * ksize);
  const weights = new Float64Array(ksize);
  // Pillow multiplies by 1/filterScale rather than dividing by filterScale; the roundings differ.
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C `(int)` casts truncate toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    const n = xmax - xmin;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const w = bicubicKernel((j + xmin - center + 0.5) * ss);
      weights[j] = w;
      sum += w;
    }
    for (let j = 0; j < n; j++) {
      const w = sum !== 0 ? weights[j] / sum : weights[j];
      // Round half away from zero, then truncate: Pillow's normalize_coeffs_8bpc.
      taps[xx * ksize + j] = w < 0 ? Math.trunc(w * FIXED_ONE - 0.5) : Math.trunc(w * FIXED_ONE + 0.5);
    }
    first[xx] = xmin;
    count[xx] = n;
  }
  return { first, count, ksize, taps };
}

/**
 * Pillow's `clip8`: drop the 22 fraction bits (arithmetic shift, i.e. floor) and clamp to a byte.
 * The accumulator stays within int32 (|Σ taps| ≤ ~1.3 · 2^22, times 255), so `>>` is exact.
 */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resampleHorizontal(src: Uint8Array, w: number, h: number, outW: number): Uint8Array {
  const { first, count, ksize, taps } = bicubicCoefficients(w, outW);
  const out = new Uint8Array(outW * h * 3);
  for (let y = 0; y < h; y++) {
    const rowIn = y * w * 3;
    const rowOut = y * outW * 3;
    for (let xx = 0; xx < outW; xx++) {
      const n = count[xx];
      const k0 = xx * ksize;
      const s0 = rowIn + first[xx] * 3;
      let r = FIXED_HALF, g = FIXED_HALF, b = FIXED_HALF;
      for (let j = 0; j < n; j++) {
        const k = taps[k0 + j];
        const s = s0 + j * 3;
        r += src[s] * k;
        g += src[s + 1] * k;
        b += src[s + 2] * k;
      }
      const o = rowOut + xx * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

function resampleVertical(src: Uint8Array, w: number, h: number, outH: number): Uint8Array {
  const { first, count, ksize, taps } = bicubicCoefficients(h, outH);
  const stride = w * 3;
  const out = new Uint8Array(w * outH * 3);
  for (let yy = 0; yy < outH; yy++) {
    const n = count[yy];
    const k0 = yy * ksize;
    const s0 = first[yy] * stride;
    const rowOut = yy * stride;
    for (let i = 0; i < stride; i++) {
      let acc = FIXED_HALF;
      for (let j = 0; j < n; j++) acc += src[s0 + j * stride + i] * taps[k0 + j];
      out[rowOut + i] = clip8(acc);
    }
  }
  return out;
}

/**
 * `Image.resize((outW, outH), Image.BICUBIC)` on an 8-bit RGB image, bit-exact with Pillow 9.4:
 * horizontal pass first into a uint8 intermediate, then the vertical pass; an axis whose size does
 * not change is not resampled at all. Input and output are interleaved RGB.
 */
export function pillowBicubicResize(
  rgb: Uint8Array, w: number, h: number, outW: number, outH: number,
): Uint8Array {
  checkRGB(rgb, w, h);
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) {
    throw new InvalidArgumentError(`resize target must be positive integers, got ${outW}×${outH}`);
  }
  let data = rgb;
  if (outW !== w) data = resampleHorizontal(data, w, h, outW);
  if (outH !== h) data = resampleVertical(data, outW, h, outH);
  return data === rgb ? rgb.slice() : data;
}

// ---------------------------------------------------------------------------------------------
// Reflect padding for `--fit pad`.

/**
 * Source index for output index i ≥ 0 on an axis of length n, reflecting without repeating the
 * edge (PyTorch ReflectionPad: for n = 5, indices 5, 6, 7 map to 3, 2, 1). PyTorch requires the
 * pad to be < n; here a longer pad keeps reflecting back and forth (period 2(n − 1)), which equals
 * PyTorch wherever PyTorch is defined. An axis of length 1 has nothing to reflect, so its single
 * pixel is repeated.
 */
function reflectIndex(i: number, n: number): number {
  if (i < n) return i;
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = i % period;
  return m < n ? m : period - m;
}

/**
 * Pads an interleaved RGB image on the right and bottom only, by reflection (see `reflectIndex`),
 * so that the top-left w×h of the result is the original image and cropping back is a plain crop.
 */
export function reflectPadRGB(
  rgb: Uint8Array, w: number, h: number, padRight: number, padBottom: number,
): RGBImage {
  checkRGB(rgb, w, h);
  if (!Number.isInteger(padRight) || !Number.isInteger(padBottom) || padRight < 0 || padBottom < 0) {
    throw new InvalidArgumentError(`pads must be non-negative integers, got ${padRight}, ${padBottom}`);
  }
  const outW = w + padRight;
  const outH = h + padBottom;
  const out = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const sy = reflectIndex(y, h);
    for (let x = 0; x < outW; x++) {
      const s = (sy * w + reflectIndex(x, w)) * 3;
      const o = (y * outW + x) * 3;
      out[o] = rgb[s];
      out[o + 1] = rgb[s + 1];
      out[o + 2] = rgb[s + 2];
    }
  }
  return { width: outW, height: outH, data: out };
}

// ---------------------------------------------------------------------------------------------
// To the network's input tensor.

/** Interleaved RGB bytes → planar float32 [3, h, w] (R, G, B planes) through `INPUT_LUT`. */
export function toNetworkInput(rgb: Uint8Array, w: number, h: number): Float32Array {
  checkRGB(rgb, w, h);
  const plane = w * h;
  const chw = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    chw[p] = INPUT_LUT[rgb[3 * p]];
    chw[plane + p] = INPUT_LUT[rgb[3 * p + 1]];
    chw[2 * plane + p] = INPUT_LUT[rgb[3 * p + 2]];
  }
  return chw;
}

/**
 * How an image is brought to a size the network accepts:
 * - `'resize'`: the reference behaviour (bicubic to multiples of 4; the output stays that size);
 * - `'pad'`: reflect-pad right/bottom to multiples of 4 (≥ 8) and crop the output back to the
 *   original size. Not the reference, but keeps every original pixel and accepts tiny images.
 */
export type FitMode = 'pad' | 'resize';

export interface FittedImage {
  /** The image at network size (the original object when nothing had to change). */
  image: RGBImage;
  /** The top-left region of the network output that corresponds to the result. */
  crop: Size;
}

/** Brings a decoded image to network size per `fit`; throws InvalidArgumentError if impossible. */
export function fitImage(image: RGBImage, fit: FitMode): FittedImage {
  const { width: w, height: h, data } = image;
  checkRGB(data, w, h);
  if (fit === 'resize') {
    const net = networkSizeResize(w, h);
    if (net.w < MIN_NETWORK_SIDE || net.h < MIN_NETWORK_SIDE) {
      throw new InvalidArgumentError(
        `image is ${w}×${h} px, which resizes to ${net.w}×${net.h}; the network needs at least ` +
        `${MIN_NETWORK_SIDE}×${MIN_NETWORK_SIDE}, so each side must be at least 6 px with fit ` +
        `'resize' (use fit 'pad' for smaller images)`,
      );
    }
    const resized = net.w === w && net.h === h
      ? image
      : { width: net.w, height: net.h, data: pillowBicubicResize(data, w, h, net.w, net.h) };
    return { image: resized, crop: { w: net.w, h: net.h } };
  }
  if (fit === 'pad') {
    const net = networkSizePad(w, h);
    const padded = net.w === w && net.h === h ? image : reflectPadRGB(data, w, h, net.w - w, net.h - h);
    return { image: padded, crop: { w, h } };
  }
  throw new InvalidArgumentError(`unknown fit mode '${String(fit)}' (expected 'pad' or 'resize')`);
}

export interface PreparedInput {
  /** float32 [3, netH, netW], planar R, G, B: the network's `real_A` without the batch axis. */
  chw: Float32Array;
  netW: number;
  netH: number;
  /** Region of the network output to keep (top-left): network size for 'resize', original for 'pad'. */
  crop: Size;
}

/** Decoded RGB → the network's input tensor, per `fit` (NERCO.md §3 for 'resize'). */
export function prepareInput(rgb: Uint8Array, w: number, h: number, fit: FitMode): PreparedInput {
  const { image, crop } = fitImage({ width: w, height: h, data: rgb }, fit);
  return {
    chw: toNetworkInput(image.data, image.width, image.height),
    netW: image.width,
    netH: image.height,
    crop,
  };
}

function checkRGB(rgb: Uint8Array, w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) {
    throw new InvalidArgumentError(`image size must be positive integers, got ${w}×${h}`);
  }
  if (rgb.length !== w * h * 3) {
    throw new InvalidArgumentError(
      `RGB buffer has ${rgb.length} bytes, expected ${w}×${h}×3 = ${w * h * 3}`,
    );
  }
}
