import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { fakeBToRGB8, rgbaToRGB, rgbToRGBA } from '../../src/nerco/postprocess.js';

/** Planar [3, 1, n] tensor with the same values in every channel. */
function tensor(values: number[]): Float32Array {
  return Float32Array.from([...values, ...values, ...values]);
}

/** One channel of the interleaved result. */
function red(rgb: Uint8Array): number[] {
  return Array.from({ length: rgb.length / 3 }, (_, i) => rgb[3 * i]);
}

/**
 * NumPy's `((a + 1) / 2 * 255).astype(uint8)` on float32 data, written independently: every
 * intermediate is stored into a Float32Array (which rounds to f32), in NumPy's order.
 */
function numpyReference(a: number): number {
  const f = new Float32Array(1);
  f[0] = a; f[0] = f[0] + 1; f[0] = f[0] / 2; f[0] = f[0] * 255;
  return Math.trunc(f[0]);
}

describe('fakeBToRGB8 (NERCO.md §8)', () => {
  it('gives the documented values at the ends and the middle', () => {
    const rgb = fakeBToRGB8(tensor([1, 0.99999994, -1, 0, 0.5]), 5, 1);
    expect(red(rgb)).toEqual([255, 255, 0, 127, 191]);
  });

  it('matches NumPy float32 (a+1)/2*255 then truncation on 200k random samples', () => {
    let seed = 12345;
    const rand = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
    const n = 200_000;
    const values = Float32Array.from({ length: n }, () => rand() * 2 - 1);
    // Also every f32 just around the code boundaries k/127.5 − 1.
    const edges: number[] = [];
    for (let k = 0; k <= 255; k++) {
      const a = Math.fround(k / 127.5 - 1);
      edges.push(a, Math.fround(a + 2 ** -24), Math.fround(a - 2 ** -24));
    }
    const all = Float32Array.from([...values, ...edges].map((v) => Math.max(-1, Math.min(1, v))));
    const rgb = fakeBToRGB8(Float32Array.from([...all, ...all, ...all]), all.length, 1);
    let differing = 0;
    for (let i = 0; i < all.length; i++) if (rgb[3 * i] !== numpyReference(all[i])) differing++;
    expect(differing).toBe(0);
  });

  it("'nearest' rounds floor(v + 0.5) instead of truncating", () => {
    // a = 0 → v = 127.5 → 128; a = −0.999 → v = 0.1275 → 0; a = 0.5 → 191.25 → 191
    const rgb = fakeBToRGB8(tensor([0, -0.999, 0.5, 1]), 4, 1, 'nearest');
    expect(red(rgb)).toEqual([128, 0, 191, 255]);
  });

  it('maps NaN to 0 and clamps out-of-range values instead of wrapping', () => {
    const rgb = fakeBToRGB8(tensor([NaN, 3, -3, Infinity, -Infinity]), 5, 1);
    expect(red(rgb)).toEqual([0, 255, 0, 255, 0]);
  });

  it('interleaves planar channels and crops the top-left region', () => {
    // 3×2 image, channel c at (x, y) = c/2 − 0.5 + x/8 + y/16
    const w = 3, h = 2;
    const chw = new Float32Array(3 * w * h);
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      chw[(c * h + y) * w + x] = c / 2 - 0.5 + x / 8 + y / 16;
    }
    const full = fakeBToRGB8(chw, w, h);
    const cropped = fakeBToRGB8(chw, w, h, 'truncate', { w: 2, h: 1 });
    expect(Array.from(cropped)).toEqual(Array.from(full.subarray(0, 6)));
    expect(full[3 * (1 * w + 2) + 1]).toBe(numpyReference(chw[(1 * h + 1) * w + 2]));
    expect(() => fakeBToRGB8(chw, w, h, 'truncate', { w: 4, h: 1 })).toThrow(InvalidArgumentError);
    expect(() => fakeBToRGB8(chw.subarray(1), w, h)).toThrow(InvalidArgumentError);
  });
});

describe('rgbaToRGB / rgbToRGBA', () => {
  it('drop alpha without compositing and add opaque alpha', () => {
    const rgba = new Uint8Array([10, 20, 30, 0, 40, 50, 60, 128]);
    expect(Array.from(rgbaToRGB(rgba))).toEqual([10, 20, 30, 40, 50, 60]);
    expect(Array.from(rgbToRGBA(new Uint8Array([1, 2, 3])))).toEqual([1, 2, 3, 255]);
  });
});
