import { describe, expect, it } from 'vitest';
import { makeRng, randn } from '../helpers/random.js';
import { coordFeature, makeCoord, nrnFast, nrnGeneral, nrnInputWidth, peFrequencies, rcValue } from './nrn.js';
import type { LinearLayer } from './types.js';

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function randomMlp(seed: number, inWidth: number, widths: number[], std: number): LinearLayer[] {
  const rng = makeRng(seed);
  let prev = inWidth;
  return widths.map((out) => {
    const layer = { weight: randn(rng, out * prev, std), bias: randn(rng, out, std) };
    prev = out;
    return layer;
  });
}

describe('NRN helpers (NERCO.md §4.2–4.3)', () => {
  it('rc = f32(f32(2/n)·n) is 2 − 2⁻²³ for 41, 47, 55, 61, 164, 188 and 2 for common sizes', () => {
    for (const n of [41, 47, 55, 61, 164, 188, 220, 244, 328]) expect(rcValue(n)).toBe(2 - 2 ** -23);
    for (const n of [40, 48, 56, 64, 100, 256, 400, 600, 1080, 1920]) expect(rcValue(n)).toBe(2);
  });

  it('make_coord gives pixel centres −1 + 1/n + 2i/n', () => {
    for (const n of [1, 5, 40, 41]) {
      const c = makeCoord(n);
      for (let i = 0; i < n; i++) expect(Math.abs(c[i] - (-1 + 1 / n + (2 * i) / n))).toBeLessThan(2e-7);
    }
    expect(makeCoord(1)[0]).toBe(0);
  });

  it('positional encoding: f32(2^l·π) frequencies, layout [v0, v1, sin v0, cos v0, sin v1, cos v1]', () => {
    const f = peFrequencies();
    expect(f[0]).toBe(Math.fround(Math.PI));
    expect(f[7]).toBe(Math.fround(128 * Math.PI));
    const e = coordFeature(0.25, -0.5);
    expect(e.length).toBe(34);
    expect([e[0], e[1]]).toEqual([0.25, -0.5]);
    expect(e[2]).toBeCloseTo(Math.sin(0.25 * Math.PI), 6); // sin(v0·f0)
    expect(e[10]).toBeCloseTo(Math.cos(0.25 * Math.PI), 6); // cos(v0·f0)
    expect(e[18]).toBeCloseTo(Math.sin(-0.5 * Math.PI), 6); // sin(v1·f0)
    expect(e[26]).toBeCloseTo(Math.cos(-0.5 * Math.PI), 6); // cos(v1·f0)
  });

  it('input width is 9·C + 36 (612 for C = 64)', () => {
    expect(nrnInputWidth(64)).toBe(612);
  });
});

describe('nrnGeneral vs nrnFast', () => {
  it.each([
    { c: 4, h: 41, w: 5, widths: [16, 8, 3] }, // rc_h = 2 − 2⁻²³
    { c: 3, h: 6, w: 47, widths: [12, 3] }, // rc_w = 2 − 2⁻²³
    { c: 2, h: 4, w: 4, widths: [3] }, // a single Linear, no hidden layer
  ])('agree within 1e-5: C=$c, $h×$w, widths $widths', ({ c, h, w, widths }) => {
    const rng = makeRng(100 + h);
    const feat = randn(rng, c * h * w);
    const layers = randomMlp(h * w, nrnInputWidth(c), widths, 0.3);
    const general = nrnGeneral(feat, [c, h, w], layers);
    const fast = nrnFast(feat, [c, h, w], layers);
    expect(maxAbs(fast)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(general, fast)).toBeLessThan(1e-5);
  });

  it('agree at NeRCo widths (612 → 256 → 256 → 256 → 3)', () => {
    const rng = makeRng(7);
    const feat = randn(rng, 64 * 5 * 7);
    for (let i = 0; i < feat.length; i++) feat[i] = Math.max(0, feat[i]); // pre_trunk is post-ReLU
    const layers = randomMlp(8, 612, [256, 256, 256, 3], 0.05);
    const general = nrnGeneral(feat, [64, 5, 7], layers);
    const fast = nrnFast(feat, [64, 5, 7], layers);
    expect(maxAbsDiff(general, fast)).toBeLessThan(1e-5);
  });

  it('the coordinate columns of the first Linear have no effect (rel_coord is exactly 0)', () => {
    const rng = makeRng(9);
    const feat = randn(rng, 2 * 6 * 5);
    const layers = randomMlp(10, nrnInputWidth(2), [8, 3], 0.3);
    const before = nrnGeneral(feat, [2, 6, 5], layers);
    const width = nrnInputWidth(2);
    const changed = layers.map((l) => ({ weight: l.weight.slice(), bias: l.bias }));
    for (let o = 0; o < 8; o++) for (let j = 18; j < 18 + 34; j++) changed[0].weight[o * width + j] += 100;
    expect(Array.from(nrnGeneral(feat, [2, 6, 5], changed))).toEqual(Array.from(before));
  });

  it('the cell columns enter through rc_h (column 9C+34) and rc_w (column 9C+35)', () => {
    const feat = new Float32Array(1 * 41 * 4);
    const width = nrnInputWidth(1);
    const weight = new Float32Array(3 * width);
    weight[0 * width + 9 + 34] = 1; // output 0 = rc_h
    weight[1 * width + 9 + 35] = 1; // output 1 = rc_w
    const layers = [{ weight, bias: new Float32Array(3) }];
    for (const out of [nrnFast(feat, [1, 41, 4], layers), nrnGeneral(feat, [1, 41, 4], layers)]) {
      expect(out[0]).toBe(2 - 2 ** -23);
      expect(out[41 * 4]).toBe(2);
    }
  });

  it('rejects an MLP whose input width does not match 9C + 36', () => {
    const layers = randomMlp(1, 50, [3], 0.1);
    expect(() => nrnFast(new Float32Array(4 * 2 * 2), [4, 2, 2], layers)).toThrow(/MLP layer 0 takes 50 inputs, expected 72/);
  });
});
