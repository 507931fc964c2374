import { describe, expect, it } from 'vitest';
import { makeRng, randn } from '../helpers/random.js';
import { conv2d, conv2dOutputShape, convTranspose2d, convTranspose2dOutputShape } from './conv.js';
import { reflectIndex, reflectPad } from './pad.js';
import type { Shape3, Shape4 } from './types.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The §7.2 formula evaluated term by term, one output at a time (independent of conv2d's loops). */
function conv2dByFormula(
  x: Float32Array, [cin, h, w]: Shape3, wt: Float32Array, [cout, , kh, kw]: Shape4,
  bias: Float32Array | null, stride: number, pad: number, mode: 'zero' | 'reflect',
): Float32Array {
  const ho = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const wo = Math.floor((w + 2 * pad - kw) / stride) + 1;
  const out = new Float32Array(cout * ho * wo);
  for (let o = 0; o < cout; o++)
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < wo; xx++) {
        let s = bias ? bias[o] : 0;
        for (let i = 0; i < cin; i++)
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              let sy = stride * y + ky - pad;
              let sx = stride * xx + kx - pad;
              if (mode === 'reflect') {
                sy = reflectIndex(sy, h);
                sx = reflectIndex(sx, w);
              } else if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
              s += wt[((o * cin + i) * kh + ky) * kw + kx] * x[(i * h + sy) * w + sx];
            }
        out[(o * ho + y) * wo + xx] = s;
      }
  return out;
}

/** §7.3 gather form of ConvTranspose2d(k3, s2, p1, op1), written from the spec's formula. */
function convTransposeGather(x: Float32Array, [cin, hin, win]: Shape3, wt: Float32Array, cout: number, bias: Float32Array | null): Float32Array {
  const ho = 2 * hin;
  const wo = 2 * win;
  const out = new Float32Array(cout * ho * wo);
  for (let o = 0; o < cout; o++)
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < wo; xx++) {
        let s = bias ? bias[o] : 0;
        for (let i = 0; i < cin; i++)
          for (let ky = 0; ky < 3; ky++) {
            if ((y + 1 - ky) % 2 !== 0) continue;
            const iy = (y + 1 - ky) / 2;
            if (iy < 0 || iy >= hin) continue;
            for (let kx = 0; kx < 3; kx++) {
              if ((xx + 1 - kx) % 2 !== 0) continue;
              const ix = (xx + 1 - kx) / 2;
              if (ix < 0 || ix >= win) continue;
              s += wt[((i * cout + o) * 3 + ky) * 3 + kx] * x[(i * hin + iy) * win + ix];
            }
          }
        out[(o * ho + y) * wo + xx] = s;
      }
  return out;
}

describe('conv2d (NERCO.md §7.2)', () => {
  it('a centred delta kernel with padding 1 is the identity', () => {
    const rng = makeRng(1);
    const x = randn(rng, 2 * 5 * 6);
    const wt = new Float32Array(2 * 2 * 9);
    wt[(0 * 2 + 0) * 9 + 4] = 1;
    wt[(1 * 2 + 1) * 9 + 4] = 1;
    for (const padMode of ['zero', 'reflect'] as const) {
      expect(Array.from(conv2d(x, [2, 5, 6], wt, [2, 2, 3, 3], null, { pad: 1, padMode }))).toEqual(Array.from(x));
    }
  });

  it('a corner delta kernel shifts the input (zero fill at the border)', () => {
    const x = Float32Array.from({ length: 12 }, (_, i) => i + 1); // 3×4
    const wt = new Float32Array(9);
    wt[0] = 1; // ky = 0, kx = 0 reads X[y−1, x−1]
    const out = conv2d(x, [1, 3, 4], wt, [1, 1, 3, 3], null, { pad: 1 });
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7]);
  });

  it('hand-computed 2×2 kernel, bias, no padding', () => {
    // X = [[1,2,3],[4,5,6],[7,8,9]], W = [[1,0],[0,-1]], b = 0.5 → X[y,x] − X[y+1,x+1] + 0.5 = −3.5 everywhere
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = conv2d(x, [1, 3, 3], Float32Array.from([1, 0, 0, -1]), [1, 1, 2, 2], Float32Array.from([0.5]));
    expect(Array.from(out)).toEqual([-3.5, -3.5, -3.5, -3.5]);
  });

  it('stride 2, zero pad 1 halves even sizes; hand-computed value', () => {
    const x = Float32Array.from({ length: 16 }, (_, i) => i); // 4×4, X[y,x] = 4y + x
    const wt = new Float32Array(9).fill(1);
    expect(conv2dOutputShape([1, 4, 4], [1, 1, 3, 3], { stride: 2, pad: 1 })).toEqual([1, 2, 2]);
    const out = conv2d(x, [1, 4, 4], wt, [1, 1, 3, 3], null, { stride: 2, pad: 1 });
    // output (0,0) sums X over rows −1..1, cols −1..1 → rows 0..1, cols 0..1 = 0+1+4+5
    // output (1,1) sums rows 1..3, cols 1..3 = 9·(4·2 + 2) = 90
    expect(out[0]).toBe(10);
    expect(out[3]).toBe(90);
  });

  it('reflect mode equals a p0 conv of the reflect-padded input', () => {
    const rng = makeRng(2);
    const x = randn(rng, 3 * 9 * 8);
    const wt = randn(rng, 4 * 3 * 49);
    const b = randn(rng, 4);
    const a = conv2d(x, [3, 9, 8], wt, [4, 3, 7, 7], b, { pad: 3, padMode: 'reflect' });
    const c = conv2d(reflectPad(x, [3, 9, 8], 3), [3, 15, 14], wt, [4, 3, 7, 7], b);
    expect(Array.from(a)).toEqual(Array.from(c));
  });

  it.each([
    { k: 1, stride: 1, pad: 0, mode: 'zero' as const },
    { k: 3, stride: 1, pad: 1, mode: 'reflect' as const },
    { k: 3, stride: 2, pad: 1, mode: 'zero' as const },
    { k: 3, stride: 1, pad: 1, mode: 'zero' as const },
    { k: 7, stride: 1, pad: 3, mode: 'reflect' as const },
    { k: 3, stride: 2, pad: 0, mode: 'zero' as const },
  ])('matches the formula term by term: k$k s$stride p$pad $mode', ({ k, stride, pad, mode }) => {
    const rng = makeRng(10 + k * 7 + stride);
    const xShape: Shape3 = [5, 10, 12];
    const wShape: Shape4 = [6, 5, k, k];
    const x = randn(rng, 600);
    const wt = randn(rng, 6 * 5 * k * k);
    const b = randn(rng, 6);
    const got = conv2d(x, xShape, wt, wShape, b, { stride, pad, padMode: mode });
    const want = conv2dByFormula(x, xShape, wt, wShape, b, stride, pad, mode);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
  });

  it('rejects mismatched channels', () => {
    expect(() => conv2d(new Float32Array(8), [2, 2, 2], new Float32Array(3), [1, 3, 1, 1], null)).toThrow(/conv2d: input has 2 channels, weight expects 3/);
  });
});

describe('convTranspose2d (NERCO.md §7.3)', () => {
  it('output is 2H × 2W', () => {
    expect(convTranspose2dOutputShape([8, 5, 7], [8, 3, 3, 3])).toEqual([3, 10, 14]);
  });

  it('scatter form (reference) equals the gather form of the spec', () => {
    const rng = makeRng(3);
    const xShape: Shape3 = [4, 5, 6];
    const x = randn(rng, 120);
    const wt = randn(rng, 4 * 3 * 9);
    const b = randn(rng, 3);
    const got = convTranspose2d(x, xShape, wt, [4, 3, 3, 3], b);
    expect(maxAbsDiff(got, convTransposeGather(x, xShape, wt, 3, b))).toBeLessThan(1e-5);
  });

  it('is the adjoint of the stride-2, zero-pad-1 conv with the same weights', () => {
    // <convT(x), y> = <x, conv(y)> where conv uses W viewed as [Cout_conv = Cin_T, Cin_conv = Cout_T, 3, 3].
    const rng = makeRng(4);
    const x = randn(rng, 3 * 4 * 5);
    const y = randn(rng, 2 * 8 * 10);
    const wt = randn(rng, 3 * 2 * 9);
    const tx = convTranspose2d(x, [3, 4, 5], wt, [3, 2, 3, 3], null);
    const cy = conv2d(y, [2, 8, 10], wt, [3, 2, 3, 3], null, { stride: 2, pad: 1 });
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < tx.length; i++) lhs += tx[i] * y[i];
    for (let i = 0; i < cy.length; i++) rhs += x[i] * cy[i];
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
  });

  it('hand case: one input pixel spreads the kernel around (2·iy−1, 2·ix−1), index −1 dropped', () => {
    const x = Float32Array.from([0, 0, 0, 1]); // 1×2×2, only (1,1) set
    const wt = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = convTranspose2d(x, [1, 2, 2], wt, [1, 1, 3, 3], null); // 4×4
    // (iy, ix) = (1,1) adds W[ky,kx] at (1+ky, 1+kx)
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9]);
    const corner = convTranspose2d(Float32Array.from([1, 0, 0, 0]), [1, 2, 2], wt, [1, 1, 3, 3], null);
    // (0,0) adds W[ky,kx] at (ky−1, kx−1): row/col −1 dropped
    expect(Array.from(corner)).toEqual([5, 6, 0, 0, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
